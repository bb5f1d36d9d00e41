// A table of a list resource, filled a page at a time through the API's cursors
// (`links.next`), with its "n of total shown" summary.

import { page } from "../api.js";
import { fill, showError } from "../ui.js";

export function pagedRows({ body, more, summary, errors, row, noun, empty }) {
  let next = null;
  let total = 0;
  const showCount = () => {
    const count = body.querySelectorAll("tr").length;
    fill(summary, count ? `${count} of ${total} ${noun} shown.` : empty);
  };

  async function load(path, reset) {
    errors.replaceChildren();
    try {
      const result = await page(path);
      if (reset) body.replaceChildren();
      for (const item of result.data) body.append(row(item));
      next = result.next;
      more.hidden = !next;
      total = result.total ?? body.querySelectorAll("tr").length;
      showCount();
    } catch (err) {
      showError(errors, err, `Could not list the ${noun}.`);
    }
  }

  return {
    // The first page of `path`, in place of what the table showed.
    reload: (path) => load(path, true),
    // The next page, after what the table shows.
    loadMore: () => (next ? load(next, false) : Promise.resolve()),
    // A row whose resource was deleted.
    removed(tr) {
      tr.remove();
      total -= 1;
      showCount();
    },
  };
}
