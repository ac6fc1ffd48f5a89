// The filter bar (_filterbar.html): suggestions in the text inputs' datalists, and
// the time range's custom bounds shown only for "custom".
(function () {
  "use strict";

  var pending = {};

  function suggest(input) {
    var list = input.list;
    if (!list) return;
    var params = new URLSearchParams({ field: input.getAttribute("data-suggest") });
    if (input.value.trim()) params.set("q", input.value.trim());
    if (params.get("field") === "property_value") {
      var name = input.closest(".property-filter").querySelector(".prop-name").value.trim();
      if (!name) { list.replaceChildren(); return; }
      params.set("name", name);
    }
    var url = "/dashboard/suggestions?" + params.toString();
    if (list.getAttribute("data-loaded") === url) return;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { data: [] }; })
      .then(function (body) {
        list.replaceChildren.apply(list, body.data.map(function (item) {
          var option = document.createElement("option");
          option.value = item.value;
          if (item.requests !== null) option.label = item.requests.toLocaleString() + " requests";
          return option;
        }));
        list.setAttribute("data-loaded", url);
      })
      .catch(function () { /* suggestions are a help, not a requirement */ });
  }

  function later(input) {
    var key = input.name;
    clearTimeout(pending[key]);
    pending[key] = setTimeout(function () { suggest(input); }, 150);
  }

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest("input[data-suggest]");
    if (input) suggest(input);
  });
  document.addEventListener("input", function (event) {
    var input = event.target.closest("input[data-suggest]");
    if (input) later(input);
  });

  function showBounds(picker) {
    var custom = picker.querySelector("[data-range-preset]").value === "custom";
    picker.querySelectorAll(".custom-bound").forEach(function (label) { label.hidden = !custom; });
  }

  document.addEventListener("change", function (event) {
    var picker = event.target.closest(".range-picker");
    if (!picker) return;
    var preset = picker.querySelector("[data-range-preset]");
    if (event.target === preset) {
      // A preset replaces a custom range: its bounds are not sent.
      if (preset.value !== "custom") {
        picker.querySelectorAll("[data-range-bound]").forEach(function (b) { b.value = ""; });
      }
    } else {
      preset.value = "custom";
    }
    showBounds(picker);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".range-picker").forEach(showBounds);
  });
})();
