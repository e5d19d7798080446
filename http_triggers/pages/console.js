// The staff console: lists the orders awaiting approval and sends the staff's decisions.
// It talks only to the app's own routes (GET orders?stage=awaiting_approval, POST
// orders/{id}/approve) with the function key the staff typed, kept in sessionStorage so it
// is gone when the tab closes. Text from orders is only ever set as textContent.
"use strict";

const KEY_SLOT = "staffConsole.functionKey";
const POLL_MS = 750;
const MAX_PAGES = 20;
const NOTE_MAX = 500;

const api = document.body.dataset.api;
const keyField = document.getElementById("function-key");
const rows = document.querySelector("#orders tbody");
const listState = document.getElementById("list-state");
const message = document.getElementById("message");

let pollTimer = null;
let polling = false;
// Orders whose decision is on its way: their row stays, whatever the list says.
const deciding = new Set();

function storedKey() {
  return sessionStorage.getItem(KEY_SLOT) || "";
}

function show(text, kind) {
  message.textContent = text;
  message.className = kind;
  message.hidden = false;
}

function clearMessage() {
  message.hidden = true;
  message.textContent = "";
}

function keyRefused() {
  stopPolling();
  rows.replaceChildren();
  listState.textContent = "The function key was refused.";
  show("The function key was refused (401). Check it and enter it again.", "error");
}

function stopPolling() {
  polling = false;
  clearTimeout(pollTimer);
  pollTimer = null;
}

function startPolling() {
  stopPolling();
  if (!storedKey()) {
    listState.textContent = "Enter the function key to see the orders.";
    return;
  }
  polling = true;
  poll();
}

async function poll() {
  let orders;
  try {
    orders = await waitingOrders();
  } catch (error) {
    if (polling) {
      message.dataset.source = "list";
      show(`The list could not be refreshed (${error.message}); retrying.`, "error");
    }
    orders = null;
  }
  if (!polling) {
    return;
  }
  if (orders !== null) {
    if (message.dataset.source === "list") {
      clearMessage();
    }
    render(orders);
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

// Every page of the orders awaiting approval, newest first; null after a 401.
async function waitingOrders() {
  const found = [];
  let token = "";
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ stage: "awaiting_approval", pageSize: "100" });
    if (token) {
      query.set("continuationToken", token);
    }
    const answer = await fetch(`${api}/orders?${query}`, {
      headers: { "x-functions-key": storedKey() },
      cache: "no-store",
    });
    if (answer.status === 401) {
      keyRefused();
      return null;
    }
    if (!answer.ok) {
      throw new Error(`answer ${answer.status}`);
    }
    const body = await answer.json();
    found.push(...body.orders);
    token = body.continuationToken || "";
    if (!token) {
      break;
    }
  }
  return found;
}

function render(orders) {
  const wanted = new Map(orders.map((order) => [order.orderId, order]));
  for (const row of [...rows.children]) {
    if (!wanted.has(row.dataset.orderId) && !deciding.has(row.dataset.orderId)) {
      row.remove();
    }
  }
  let previous = null;
  for (const order of orders) {
    let row = rowOf(order.orderId);
    if (row === null) {
      row = newRow(order);
    }
    const next = previous === null ? rows.firstElementChild : previous.nextElementSibling;
    if (row !== next) {
      rows.insertBefore(row, next);
    }
    previous = row;
  }
  showCount();
  tick();
}

function showCount() {
  const count = rows.children.length;
  listState.textContent = count === 0
    ? "No orders are waiting for approval."
    : `${count} ${count === 1 ? "order is" : "orders are"} waiting for approval.`;
}

function rowOf(orderId) {
  for (const row of rows.children) {
    if (row.dataset.orderId === orderId) {
      return row;
    }
  }
  return null;
}

function cell(row, className) {
  const td = document.createElement("td");
  td.className = className;
  row.append(td);
  return td;
}

function newRow(order) {
  const row = document.createElement("tr");
  row.dataset.orderId = order.orderId;
  const id = document.createElement("code");
  id.textContent = order.orderId;
  cell(row, "order").append(id);
  const list = document.createElement("ul");
  for (const item of order.items) {
    const line = document.createElement("li");
    line.textContent = `${item.quantity} × ${item.name}`;
    list.append(line);
  }
  cell(row, "items").append(list);
  const left = cell(row, "time-left");
  left.dataset.expiresAt = order.approval ? order.approval.expiresAt : "";
  const note = document.createElement("input");
  note.type = "text";
  note.maxLength = NOTE_MAX;
  note.className = "note";
  note.placeholder = "optional note";
  note.setAttribute("aria-label", `Note for order ${order.orderId}`);
  cell(row, "note-cell").append(note);
  const actions = cell(row, "actions");
  for (const [label, approved] of [["Approve", true], ["Decline", false]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.className = approved ? "approve" : "decline";
    button.addEventListener("click", () => decide(row, approved));
    actions.append(button);
  }
  return row;
}

function timeLeft(expiresAt) {
  const seconds = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
  if (!Number.isFinite(seconds)) {
    return "";
  }
  if (seconds <= 0) {
    return "time is up";
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function tick() {
  for (const left of rows.querySelectorAll("td.time-left")) {
    left.textContent = timeLeft(left.dataset.expiresAt);
  }
}

async function decide(row, approved) {
  const orderId = row.dataset.orderId;
  const note = row.querySelector("input.note").value.trim();
  const buttons = row.querySelectorAll("button");
  buttons.forEach((button) => { button.disabled = true; });
  deciding.add(orderId);
  const decision = { approved };
  if (note) {
    decision.note = note;
  }
  let answer;
  let body = null;
  try {
    answer = await fetch(`${api}/orders/${encodeURIComponent(orderId)}/approve`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": storedKey() },
      body: JSON.stringify(decision),
    });
    body = await answer.json().catch(() => null);
  } catch (error) {
    answer = null;
  }
  deciding.delete(orderId);
  const verdict = verdictOf(orderId, approved, answer, body);
  delete message.dataset.source;
  show(verdict.text, verdict.kind);
  if (verdict.keepRow) {
    buttons.forEach((button) => { button.disabled = false; });
  } else {
    row.remove();
    showCount();
  }
  if (answer !== null && answer.status === 401) {
    keyRefused();
  }
}

function detail(body, field) {
  const found = body && Array.isArray(body.details)
    ? body.details.find((item) => item.field === field) : undefined;
  return found ? found.message : "";
}

// What to tell the staff about the answer to a decision, and whether the row stays.
function verdictOf(orderId, approved, answer, body) {
  const order = `Order ${orderId}`;
  if (answer === null) {
    return { text: `${order}: the decision could not be sent (no connection). Try again.`,
             kind: "error", keepRow: true };
  }
  switch (answer.status) {
    case 202:
      return { text: `${order} ${approved ? "approved" : "declined"}.`, kind: "info" };
    case 409: {
      const outcome = detail(body, "approval");
      if (outcome) {
        return { text: `${order} was already decided elsewhere (${outcome}). `
                       + "Your decision was not recorded.", kind: "error" };
      }
      return { text: `${order} is not waiting for approval (stage: ${detail(body, "stage")}). `
                     + "Your decision was not recorded.", kind: "error" };
    }
    case 410:
      return { text: `${order} has expired or ended before your decision arrived. `
                     + "Nothing was changed.", kind: "error" };
    case 404:
      return { text: `${order} no longer exists.`, kind: "error" };
    case 401:
      return { text: "The function key was refused (401).", kind: "error", keepRow: true };
    case 400:
    case 413: {
      const reasons = body && Array.isArray(body.details)
        ? body.details.map((item) => `${item.field}: ${item.message}`).join("; ") : "";
      return { text: `${order}: the decision was refused (${reasons || answer.status}).`,
               kind: "error", keepRow: true };
    }
    default:
      return { text: `${order}: the order service answered ${answer.status}. Try again.`,
               kind: "error", keepRow: true };
  }
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyField.value.trim();
  if (!key) {
    show("Enter the function key first.", "error");
    return;
  }
  sessionStorage.setItem(KEY_SLOT, key);
  clearMessage();
  listState.textContent = "Loading the orders…";
  startPolling();
});

document.getElementById("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_SLOT);
  keyField.value = "";
  stopPolling();
  rows.replaceChildren();
  clearMessage();
  listState.textContent = "Enter the function key to see the orders.";
});

keyField.value = storedKey();
setInterval(tick, 1000);
startPolling();
