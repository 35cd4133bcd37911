// Sortable tables: a click (or Enter) on a column header sorts the rows of tbody.sortable by that
// column, using each cell's data-sort value (numbers sort as numbers; blanks go last).
(function () {
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (raw === "") { return { blank: true, value: 0 }; }
    var number = Number(raw);
    return isNaN(number) ? { blank: false, value: raw.toLowerCase() } : { blank: false, value: number };
  }
  function sortBy(table, column, header) {
    var body = table.querySelector("tbody.sortable");
    if (!body) { return; }
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[column]), y = key(b.cells[column]);
      if (x.blank !== y.blank) { return x.blank ? 1 : -1; }
      if (x.value < y.value) { return ascending ? -1 : 1; }
      if (x.value > y.value) { return ascending ? 1 : -1; }
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable-table").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (header, column) {
      var button = header.querySelector("button");
      if (!button) { return; }
      header.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
})();
