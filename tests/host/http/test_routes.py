"""Route templates: parsing, constraints, optional and catch-all parameters, precedence."""

import pytest

from devhost.http.routes import RouteTable, RouteTemplate, RouteTemplateError


def match(template: str, path: str) -> dict[str, str] | None:
    """Parse ``template`` and match ``path`` against it."""
    return RouteTemplate.parse(template).match(path)


class TestLiteralsAndParameters:
    """Literal segments and plain parameters."""

    def test_literal_route_matches_only_itself(self) -> None:
        """A literal route matches its own path and nothing longer or shorter."""
        assert match("orders", "orders") == {}
        assert match("orders", "orders/1") is None
        assert match("orders/list", "orders") is None

    def test_literals_ignore_case(self) -> None:
        """Literal segments compare case-insensitively, as in ASP.NET routing."""
        assert match("Orders/Summary", "orders/SUMMARY") == {}

    def test_parameter_captures_segment(self) -> None:
        """``{name}`` captures one whole segment, keeping the value's case."""
        assert match("orders/{orderId}", "orders/AbC-1") == {"orderId": "AbC-1"}

    def test_parameter_does_not_span_segments(self) -> None:
        """A plain parameter never swallows a slash."""
        assert match("orders/{orderId}", "orders/a/b") is None

    def test_values_are_percent_decoded_per_segment(self) -> None:
        """``%20`` decodes and an encoded slash stays inside its segment's value."""
        assert match("files/{name}", "files/a%20b%2Fc") == {"name": "a b/c"}

    def test_trailing_and_leading_slashes_are_ignored(self) -> None:
        """``/orders/1/`` matches like ``orders/1``."""
        assert match("/orders/{id}/", "/orders/1/") == {"id": "1"}

    def test_empty_segment_does_not_match_parameter(self) -> None:
        """``a//b`` has an empty middle segment, which no parameter accepts."""
        assert match("a/{x}/b", "a//b") is None

    def test_empty_template_matches_root(self) -> None:
        """An empty route is the prefix root."""
        assert match("", "") == {}
        assert match("", "x") is None

    def test_complex_segment_splits_on_literals(self) -> None:
        """``{name}.{ext}`` splits at the last dot, like ASP.NET's right-to-left match."""
        assert match("files/{name}.{ext}", "files/a.tar.gz") == {"name": "a.tar", "ext": "gz"}
        assert match("files/{name}.{ext}", "files/noext") is None


class TestOptionalAndCatchAll:
    """Optional trailing parameters and catch-alls."""

    def test_optional_parameter_may_be_left_out(self) -> None:
        """A trailing ``{id?}`` matches with and without its segment."""
        assert match("items/{id?}", "items") == {}
        assert match("items/{id?}", "items/7") == {"id": "7"}

    def test_several_trailing_optionals(self) -> None:
        """A run of trailing optional segments may be cut anywhere."""
        assert match("a/{x?}/{y?}", "a/1") == {"x": "1"}
        assert match("a/{x?}/{y?}", "a/1/2") == {"x": "1", "y": "2"}

    def test_optional_cannot_precede_required(self) -> None:
        """An optional segment followed by a required one is refused."""
        with pytest.raises(RouteTemplateError, match="last segments"):
            RouteTemplate.parse("a/{x?}/b")

    def test_catch_all_takes_the_rest(self) -> None:
        """``{*rest}`` captures every remaining segment, slashes included."""
        assert match("files/{*path}", "files/a/b/c.txt") == {"path": "a/b/c.txt"}

    def test_catch_all_may_be_empty(self) -> None:
        """A catch-all matches nothing at all, and then has no value."""
        assert match("files/{*path}", "files") == {}

    def test_double_star_catch_all(self) -> None:
        """``{**rest}`` is accepted as a catch-all too."""
        assert match("x/{**rest}", "x/1/2") == {"rest": "1/2"}

    def test_catch_all_must_be_last(self) -> None:
        """A catch-all before another segment is refused."""
        with pytest.raises(RouteTemplateError, match="last segment"):
            RouteTemplate.parse("{*rest}/x")


class TestConstraints:
    """Inline constraints."""

    @pytest.mark.parametrize(("constraint", "good", "bad"), [
        ("int", ["0", "-12", "+7", "2147483647"], ["2147483648", "1.5", "x", "٣"]),
        ("long", ["9223372036854775807", "-9223372036854775808"],
         ["9223372036854775808", "1e3"]),
        ("double", ["1", "-1.5", ".5", "1e-3", "2.", "+3E8"], ["abc", "1e", "--1", "1e999"]),
        ("bool", ["true", "False", "TRUE"], ["yes", "1", "truee"]),
        ("alpha", ["abc", "ABCdef"], ["abc1", "a-b", "é"]),
        ("guid", ["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3F2504E04F8911D39A0C0305E82C3301",
                  "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}",
                  "(3f2504e0-4f89-11d3-9a0c-0305e82c3301)"],
         ["3f2504e0-4f89-11d3-9a0c", "zz2504e0-4f89-11d3-9a0c-0305e82c3301",
          "3f2504e04f89-11d3-9a0c-0305e82c3301-", "{3f2504e0-4f89-11d3-9a0c-0305e82c3301)"]),
    ])
    def test_constraint_accepts_and_refuses(self, constraint: str, good: list[str],
                                            bad: list[str]) -> None:
        """Each constraint accepts its values and makes the route miss on others."""
        template = RouteTemplate.parse(f"v/{{value:{constraint}}}")
        for value in good:
            assert template.match(f"v/{value}") == {"value": value}, value
        for value in bad:
            assert template.match(f"v/{value}") is None, value

    def test_chained_constraints_all_apply(self) -> None:
        """``{id:long:int}`` needs both to hold."""
        template = RouteTemplate.parse("v/{id:long:int}")
        assert template.match("v/5") == {"id": "5"}
        assert template.match("v/9000000000") is None

    def test_constraint_on_optional(self) -> None:
        """An optional constrained value is checked when present."""
        template = RouteTemplate.parse("v/{id:int?}")
        assert template.match("v") == {}
        assert template.match("v/x") is None

    def test_unknown_constraint_is_refused(self) -> None:
        """Constraints this host does not implement fail at parse time, naming them."""
        with pytest.raises(RouteTemplateError, match="'regex"):
            RouteTemplate.parse("v/{id:regex(^a$)}")


class TestTemplateErrors:
    """Templates refused at parse time, and equivalence."""

    @pytest.mark.parametrize("template", [
        "a/{x}/{x}", "a/{X}/{x}", "a/{}", "a/{1x}", "a/{x", "a/x}", "a//b", "a/{x=1}",
        "a/{x}{y}", "a/{x?}.txt", "a/pre{*rest}",
    ])
    def test_malformed_template_is_refused(self, template: str) -> None:
        """Bad syntax raises RouteTemplateError instead of matching oddly."""
        with pytest.raises(RouteTemplateError):
            RouteTemplate.parse(template)

    def test_equivalent_templates_share_canonical_form(self) -> None:
        """Parameter names and literal case do not change what a template matches."""
        first = RouteTemplate.parse("Orders/{id:int}/{rest?}")
        second = RouteTemplate.parse("orders/{orderId:int}/{x?}")
        assert first.canonical == second.canonical
        assert first.canonical != RouteTemplate.parse("orders/{id}/{rest?}").canonical


class TestRouteTable:
    """Choosing among several templates."""

    def test_literal_beats_parameter(self) -> None:
        """``orders/summary`` wins over ``orders/{id}`` whatever the order they were added."""
        table = RouteTable([("orders/{id}", "by-id"), ("orders/summary", "summary")])
        assert [m.target for m in table.match("orders/summary")] == ["summary", "by-id"]
        assert [m.target for m in table.match("orders/7")] == ["by-id"]

    def test_constrained_beats_plain_beats_catch_all(self) -> None:
        """Precedence: constrained parameter, then plain, then catch-all."""
        table = RouteTable([("v/{*rest}", "rest"), ("v/{x}", "plain"), ("v/{x:int}", "int")])
        assert [m.target for m in table.match("v/5")] == ["int", "plain", "rest"]
        assert [m.target for m in table.match("v/a")] == ["plain", "rest"]

    def test_match_carries_values(self) -> None:
        """A match reports the route values for its own template."""
        table = RouteTable([("a/{x}/b/{y}", 1)])
        (found,) = table.match("A/1/B/2")
        assert (found.target, found.values) == (1, {"x": "1", "y": "2"})

    def test_no_match_is_empty(self) -> None:
        """A path no template matches gives an empty list."""
        assert RouteTable([("a", 1)]).match("b") == []
