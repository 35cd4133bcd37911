// Sortable tables: a click (or Enter or Space: the headings are buttons) on a column heading sorts
// the rows of tbody.sortable by that column, using each cell's data-sort value (numbers sort as
// numbers; blanks go last). The sorted column's heading cell says so with aria-sort; the others
// carry none, as the WAI-ARIA sortable-table pattern has it.
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
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
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
      button.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
})();


// Find a service: the index's search box (hidden in the page, shown here, so that without
// JavaScript the table is simply shown whole) keeps the service rows whose data-search text
// (name, code, nation, region) holds every word typed, ignoring case and accents. The national
// and nation rows stay. The count of rows shown is written, in the words of the box's
// data-words, to a live region that screen readers announce once typing pauses.
(function () {
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/\s+/g, " ").trim();
  }
  document.querySelectorAll(".table-search[data-table]").forEach(function (box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var input = box.querySelector("input");
    var count = box.querySelector("[data-words]");
    if (!table || !input || !count) { return; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody.sortable tr[data-search]"));
    var texts = rows.map(function (row) { return fold(row.getAttribute("data-search")); });
    var pause = null;
    function filter() {
      var words = fold(input.value).split(" ").filter(Boolean);
      var shown = 0;
      rows.forEach(function (row, i) {
        var match = words.every(function (word) { return texts[i].indexOf(word) !== -1; });
        row.hidden = !match;
        shown += match ? 1 : 0;
      });
      return shown;
    }
    function announce(shown) {
      count.textContent = count.getAttribute("data-words").replace("{shown}", shown).replace("{total}", rows.length);
    }
    input.addEventListener("input", function () {
      var shown = filter();
      clearTimeout(pause);
      pause = setTimeout(function () { announce(shown); }, 300);
    });
    announce(filter());  // before the box is shown, so that nothing is announced as the page opens
    box.hidden = false;
  });
})();
