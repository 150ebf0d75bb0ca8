/* Helpline desk: keyboard shortcuts and small helpers. No build step, no dependencies.
 *
 * j / k   next / previous ticket row in a queue     Enter  open the selected ticket
 * x       tick the selected row for a bulk action   /      focus the search box
 * r       reply box     n  note box     e  escalation note     ?  this help (a <dialog>)
 */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-ticket]"));
  }

  function currentIndex(list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].classList.contains("is-current")) return i;
    }
    return -1;
  }

  function select(list, index) {
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row) {
      row.classList.remove("is-current");
      row.removeAttribute("aria-current");
    });
    var row = list[index];
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("a[data-open]");
    if (link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    var details = field.closest("details");
    if (details) details.open = true;
    field.focus();
    field.scrollIntoView({ block: "center" });
    return true;
  }

  function closeResults() {
    var results = document.getElementById("desk-search-results");
    if (results) results.innerHTML = "";
  }

  function openHelp() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) dialog.showModal();
  }

  function openBulk() {
    var bulk = document.getElementById("bulk-tools");
    if (bulk && document.querySelector("#queue input[name=ids]:checked")) bulk.open = true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && event.target && event.target.id === "desk-search") {
      closeResults();
      event.target.blur();
      return;
    }
    if (typing(event.target)) return;
    var list = rows();
    var handled = true;
    switch (event.key) {
      case "j":
        select(list, currentIndex(list) + 1);
        break;
      case "k":
        select(list, currentIndex(list) < 0 ? 0 : currentIndex(list) - 1);
        break;
      case "Enter": {
        var index = currentIndex(list);
        if (index < 0 || document.activeElement.closest("a, button")) {
          handled = false;
          break;
        }
        var link = list[index].querySelector("a[data-open]");
        if (link) window.location.assign(link.href);
        break;
      }
      case "x": {
        var row = list[currentIndex(list)];
        var box = row && row.querySelector("input[name=ids]");
        if (box) {
          box.checked = !box.checked;
          openBulk();
        } else handled = false;
        break;
      }
      case "/":
        handled = focusField("#desk-search");
        break;
      case "r":
        handled = focusField("#reply-body");
        break;
      case "n":
        handled = focusField("#note-body");
        break;
      case "e":
        handled = focusField("#escalate-note");
        break;
      case "?":
        openHelp();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target.closest && target.closest(".desk-search"))) closeResults();
    if (target.closest && target.closest("[data-shortcut-help]")) openHelp();
    if (target.matches && target.matches("[data-select-all]")) {
      document.querySelectorAll("#queue input[name=ids]").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches && target.matches("#queue input[name=ids], [data-select-all]")) openBulk();
  });
})();
