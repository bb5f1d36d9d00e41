// Small DOM helpers: elements, the status line, API errors, confirmations, downloads.

// h("p", {class: "note"}, "text", child): an element; attributes by name, `on` for events,
// boolean attributes by true/false, children as nodes or text (null and false skipped).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else if (value !== false && value != null) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

// Replaces the children of `element`.
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldIds = 0;

// A labelled form field: a <label> tied to its control, with an optional hint.
export function field(label, control, hint) {
  const id = control.id || `field-${++fieldIds}`;
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, parts);
}

// Says `message` in the status line, which screen readers announce.
let statusTimer = 0;

export function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  clearTimeout(statusTimer);
  // A new text node in a new task, so that repeating a message announces it again; cleared
  // after a while, so that an old message does not stand beside a new page.
  statusTimer = setTimeout(() => {
    status.textContent = message;
    statusTimer = setTimeout(() => {
      status.textContent = "";
    }, 8000);
  }, 50);
}

// Clears the status line (a new page).
export function clearStatus() {
  clearTimeout(statusTimer);
  document.getElementById("status").textContent = "";
}

// What went wrong, for people: an API error with its status, code, title, detail and source,
// or any other error's message. `hint` adds what to do.
export function errorBox(err, context = "") {
  const box = h("div", { class: "error", role: "alert" });
  if (context) box.append(h("p", { class: "error-context" }, context));
  if (err && err.name === "ApiError") {
    box.append(h("p", { class: "error-status" }, `HTTP ${err.status}`, err.statusText ? ` ${err.statusText}` : ""));
    for (const e of err.errors) {
      const item = h("div", { class: "error-item" },
        h("p", {}, h("code", {}, e.code || "(no code)"), e.title ? ` ${e.title}` : ""),
        e.detail ? h("p", { class: "error-detail" }, e.detail) : null,
      );
      if (e.source?.pointer != null) item.append(h("p", {}, "source.pointer: ", h("code", {}, e.source.pointer || "(the whole body)")));
      if (e.source?.parameter != null) item.append(h("p", {}, "source.parameter: ", h("code", {}, e.source.parameter)));
      if (e.id) item.append(h("p", { class: "hint" }, `error id ${e.id}`));
      box.append(item);
    }
    const hint = err.hint();
    if (hint) box.append(h("p", { class: "error-hint" }, hint));
  } else {
    box.append(h("p", {}, err?.message || String(err)));
  }
  return box;
}

// Shows `err` in `slot` (replacing what was there) and says it in the status line.
export function showError(slot, err, context) {
  fill(slot, errorBox(err, context));
  announce(`Error: ${err?.name === "ApiError" ? `HTTP ${err.status} ${err.errors[0]?.code || ""}` : err?.message || err}`);
}

// Asks a yes/no question in a modal dialog; resolves true when confirmed.
export function confirmDialog(question, confirmLabel) {
  return new Promise((resolve) => {
    const titleId = `dialog-${++fieldIds}`;
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const confirm = h("button", { type: "button", class: "danger" }, confirmLabel);
    const dialog = h("dialog", { "aria-labelledby": titleId },
      h("p", { id: titleId }, question),
      h("div", { class: "actions" }, cancel, confirm),
    );
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener("click", () => close(false));
    confirm.addEventListener("click", () => close(true));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

// Saves `text` as the file `name`.
export function download(name, text, type = "application/x-pem-file") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// A date for people, in the browser's locale and time zone, with the ISO form as a tooltip.
export function dateText(value) {
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return h("time", { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

// "3 minutes ago", "in 10 minutes".
export function relative(seconds) {
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 90) return format.format(Math.round(seconds), "second");
  if (abs < 90 * 60) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 36 * 3600) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

// A busy button while `work` runs: disabled, labelled as working, restored after.
export async function busy(button, label, work) {
  const before = button.textContent;
  button.disabled = true;
  button.textContent = label;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = before;
    button.removeAttribute("aria-busy");
  }
}

// Reads a chosen file as bytes.
export async function fileBytes(input) {
  const file = input.files?.[0];
  return file ? { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } : null;
}
