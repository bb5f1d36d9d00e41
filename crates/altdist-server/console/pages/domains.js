// Domains: the websites the account distributes from; add and delete.

import { api } from "../api.js";
import { announce, busy, confirmDialog, dateText, field, fill, h, showError } from "../ui.js";
import { pagedRows } from "./paged.js";

export function renderDomains(slot) {
  const domain = h("input", { name: "domain", required: true, autocomplete: "off", spellcheck: "false", placeholder: "apps.example.com" });
  const referenceName = h("input", { name: "referenceName", required: true, autocomplete: "off", maxlength: 255 });
  const add = h("button", { type: "submit" }, "Add domain");
  const formErrors = h("div", { class: "slot" });
  const listErrors = h("div", { class: "slot" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more domains");
  const summary = h("p", { class: "summary" });
  const rows = pagedRows({ body, more, summary, errors: listErrors, row, noun: "domains", empty: "No domain yet." });

  function row(item) {
    const a = item.attributes || {};
    const remove = h("button", { type: "button", class: "danger small", "aria-label": `Delete domain ${a.domain}` }, "Delete");
    const tr = h("tr", {}, h("td", {}, h("code", {}, a.domain)), h("td", {}, a.referenceName || ""), h("td", {}, a.createdDate ? dateText(a.createdDate) : ""), h("td", {}, h("code", { class: "id" }, item.id)), h("td", {}, remove));
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog(`Delete the domain ${a.domain}? Installs from it stop being allowed.`, "Delete domain"))) return;
      try {
        await api("DELETE", `/v1/alternativeDistributionDomains/${encodeURIComponent(item.id)}`);
        rows.removed(tr);
        announce(`Deleted domain ${a.domain}.`);
      } catch (err) {
        showError(listErrors, err, `Could not delete ${a.domain}.`);
      }
    });
    return tr;
  }

  const form = h("form", { class: "card", "aria-labelledby": "add-domain" },
    h("h2", { id: "add-domain" }, "Add a domain"),
    field("Domain", domain, "A host name, like apps.example.com: no scheme, no path."),
    field("Reference name", referenceName, "Your name for it, 1 to 255 characters."),
    h("div", { class: "actions" }, add),
    formErrors,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(add, "Adding…", async () => {
      formErrors.replaceChildren();
      try {
        const created = await api("POST", "/v1/alternativeDistributionDomains", {
          body: { data: { type: "alternativeDistributionDomains", attributes: { domain: domain.value.trim(), referenceName: referenceName.value.trim() } } },
        });
        announce(`Added domain ${created.data.attributes.domain}.`);
        domain.value = "";
        referenceName.value = "";
        await rows.reload("/v1/alternativeDistributionDomains?limit=50");
      } catch (err) {
        showError(formErrors, err, "Could not add the domain.");
      }
    });
  });
  more.addEventListener("click", () => busy(more, "Loading…", () => rows.loadMore()));

  fill(slot,
    h("h1", {}, "Alternative distribution domains"),
    h("p", {}, "The websites your apps may be installed from. For web distribution, add one key and then your domain."),
    form,
    h("h2", {}, "Domains"),
    listErrors,
    summary,
    h("div", { class: "table-wrap" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Domains of the account"),
        h("thead", {}, h("tr", {}, ["Domain", "Reference name", "Created", "ID", h("span", { class: "visually-hidden" }, "Actions")].map((title) => h("th", { scope: "col" }, title)))),
        body,
      ),
    ),
    more,
  );
  return rows.reload("/v1/alternativeDistributionDomains?limit=50");
}
