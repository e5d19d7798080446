// The device simulator: one device's pushes, newest first, refreshed every second;
// placing an order for it through the app; the emulator's fault switches.
"use strict";

const REFRESH_MS = 1000;
const params = new URLSearchParams(window.location.search);
const token = params.get("token") || "";
const appUrl = (params.get("app") || document.querySelector('meta[name="app-url"]').content)
  .replace(/\/+$/, "");

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shownTime(iso) {
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toISOString().slice(11, 23) + "Z";
}

async function json(url, options) {
  const answer = await fetch(url, options);
  const text = await answer.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (error) { body = null; }
  return { status: answer.status, body, text };
}

function notificationItem(message) {
  const notification = message.notification || {};
  const data = message.data || {};
  const item = element("li", "notification");
  item.dataset.name = message.name || "";
  const row = element("div", "row");
  row.append(element("span", "stage", data.stage || "(no stage)"),
             element("time", "time", shownTime(message.receivedAt)));
  item.append(row, element("div", "title", notification.title || "(no title)"),
              element("div", "body", notification.body || ""));
  return item;
}

let shown = -1;

async function refreshDevice() {
  try {
    const { status, body } = await json(`/emulator/messages?token=${encodeURIComponent(token)}`);
    if (status === 200 && body && Array.isArray(body.messages) && body.messages.length !== shown) {
      const list = document.getElementById("notifications");
      const newestFirst = body.messages.slice().reverse();
      list.replaceChildren(...newestFirst.map(notificationItem));
      shown = body.messages.length;
      document.getElementById("empty").hidden = shown > 0;
    }
    const state = await json(`/emulator/state?token=${encodeURIComponent(token)}`);
    if (state.status === 200 && state.body) {
      const parts = [];
      if (state.body.unregistered) parts.push("this token is unregistered: sends to it answer 404");
      if (state.body.queuedFaults) parts.push(`${state.body.queuedFaults} fault(s) queued`);
      document.getElementById("token-state").textContent = parts.join("; ");
    }
  } catch (error) {
    document.getElementById("token-state").textContent = `emulator unreachable: ${error}`;
  }
  document.getElementById("phone-clock").textContent = new Date().toISOString().slice(11, 19);
}

function orderBody(form) {
  const names = form.querySelectorAll('input[name="item-name"]');
  const quantities = form.querySelectorAll('input[name="item-quantity"]');
  const items = Array.from(names, (input, index) => ({
    name: input.value, quantity: Number(quantities[index].value),
  }));
  const body = { regId: token, items };
  const orderId = form.querySelector('input[name="order-id"]').value.trim();
  if (orderId) body.orderId = orderId;
  return body;
}

async function placeOrder(event) {
  event.preventDefault();
  const result = document.getElementById("order-result");
  result.className = "";
  result.textContent = "placing...";
  try {
    const { status, body, text } = await json(`${appUrl}/orders`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(orderBody(event.target)),
    });
    if ((status === 202 || status === 200) && body) {
      result.className = "ok";
      result.textContent = `${status}: order ${body.orderId} is ${body.stage}`;
      result.dataset.orderId = body.orderId;
    } else {
      const details = body && Array.isArray(body.details)
        ? body.details.map((d) => `${d.field}: ${d.message}`).join("; ") : "";
      result.className = "bad";
      result.textContent = `${status}: ${(body && body.error) || text} ${details}`.trim();
    }
  } catch (error) {
    result.className = "bad";
    result.textContent = `the app at ${appUrl} did not answer (is it running, and does its ` +
      `Host.CORS allow ${window.location.origin}?): ${error}`;
  }
}

async function control(url, payload, done) {
  const result = document.getElementById("fault-result");
  const options = { method: "POST" };
  if (payload) {
    options.headers = { "content-type": "application/json" };
    options.body = JSON.stringify(payload);
  }
  const { status, body, text } = await json(url, options);
  result.className = status < 300 ? "ok" : "bad";
  result.textContent = status < 300 ? done(body) : `${status}: ${(body && body.error) || text}`;
  refreshDevice();
}

async function showTokens() {
  const { body } = await json("/emulator/messages");
  const counts = new Map();
  for (const message of (body && body.messages) || []) {
    if (message.token) counts.set(message.token, (counts.get(message.token) || 0) + 1);
  }
  if (!counts.size) return;
  const list = document.getElementById("known-tokens");
  list.replaceChildren(...Array.from(counts, ([known, count]) => {
    const item = element("li");
    const link = element("a", "", known);
    link.href = `/?token=${encodeURIComponent(known)}`;
    item.append(link, document.createTextNode(` (${count})`));
    return item;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  if (!token) {
    document.getElementById("choose").hidden = false;
    showTokens();
    return;
  }
  document.getElementById("device").hidden = false;
  document.getElementById("token-label").textContent = token;
  document.getElementById("app-url").textContent = appUrl;
  document.title = `${token} · device simulator`;
  document.getElementById("order-form").addEventListener("submit", placeOrder);
  document.getElementById("add-item").addEventListener("click", () => {
    const items = document.getElementById("items");
    const copy = items.firstElementChild.cloneNode(true);
    copy.querySelector('input[name="item-name"]').value = "";
    items.append(copy);
  });
  document.getElementById("unregister").addEventListener("click", () => control(
    `/emulator/tokens/${encodeURIComponent(token)}:unregister`, null,
    () => "the token is unregistered: the next push to it answers 404 UNREGISTERED"));
  for (const button of document.querySelectorAll("button.fault")) {
    button.addEventListener("click", () => {
      const count = Number(document.getElementById("fault-count").value) || 1;
      const status = Number(button.dataset.status);
      control("/emulator/faults", { status, count },
              (body) => `the next ${body.queued} send(s) answer ${status}`);
    });
  }
  refreshDevice();
  setInterval(refreshDevice, REFRESH_MS);
});
