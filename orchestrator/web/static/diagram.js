/* Polku's diagram pages: bpmn-js's NavigatedViewer draws the pathway's BPMN from the page's JSON
   (data-diagram-source), and the page's figures go on it as markers (CSS classes on nodes and flows) and
   badges (overlays). Everything drawn here is also in the page's tables: without this script, or when drawing
   fails, the page still says it all. No inline code, no other script: the page's CSP allows only these files. */
(function () {
  "use strict";

  var READABLE = 0.5; // below this scale a node's name cannot be read: a narrow box starts at it and scrolls
  var MARGIN = 40; // diagram units kept around the drawing: room for the badges above its top row
  var STEP = 60; // pixels an arrow key moves the diagram
  var BADGES_FROM = 0.35; // zoomed out further, the badges would cover the nodes: the markers and tables remain
  var figure = document.querySelector("[data-diagram-source]");
  if (!figure || !window.BpmnJS) {
    return;
  }
  var box = figure.querySelector(".diagram-canvas");
  var tools = figure.querySelector(".diagram-tools");
  box.hidden = false;
  var viewer = new window.BpmnJS({ container: box });
  var canvas = viewer.get("canvas");

  function failed() {
    box.hidden = true;
    tools.hidden = true;
    figure.querySelector(".diagram-failed").hidden = false;
  }

  // The whole diagram when it can be read so, else its start (the top left, where a pathway's first lane
  // starts) at a readable scale; the box no taller than the drawing needs then.
  function start() {
    canvas.zoom("fit-viewport", "auto");
    var view = canvas.viewbox(), inner = view.inner, scale = Math.max(view.scale, READABLE);
    var needed = Math.max(200, Math.ceil((inner.height + 2 * MARGIN) * scale));
    if (needed < box.clientHeight) {
      box.style.height = needed + "px";
      canvas.resized();
    }
    if (view.scale >= READABLE) {
      canvas.zoom("fit-viewport", "auto");
      return;
    }
    var width = box.clientWidth / scale, height = box.clientHeight / scale;
    canvas.viewbox({ x: inner.x - MARGIN, y: inner.y - MARGIN, width: width, height: height });
  }

  // A node's badges in one row centred above it; a boundary event's beside it, off the activity it sits on.
  function badges(element, pairs) {
    var html = document.createElement("div");
    var beside = element.type === "bpmn:BoundaryEvent";
    html.className = "diagram-badges" + (beside ? " diagram-badges--beside" : "");
    html.setAttribute("aria-hidden", "true"); // the tables say it in words
    pairs.forEach(function (pair) {
      var badge = document.createElement("span");
      badge.className = "diagram-badge diagram-badge--" + pair[0];
      badge.textContent = pair[1];
      html.appendChild(badge);
    });
    var position = beside ? { top: element.height / 2, left: element.width + 2 } : { top: 0, left: element.width / 2 };
    viewer.get("overlays").add(element, "polku", {
      position: position, html: html, scale: { min: 1, max: 1.5 }, show: { minZoom: BADGES_FROM }
    });
  }

  function mark(data) {
    var registry = viewer.get("elementRegistry");
    Object.keys(data.markers || {}).forEach(function (id) {
      if (registry.get(id)) {
        data.markers[id].forEach(function (marker) { canvas.addMarker(id, "polku-" + marker); });
      }
    });
    Object.keys(data.badges || {}).forEach(function (id) {
      if (registry.get(id)) {
        badges(registry.get(id), data.badges[id]);
      }
    });
  }

  function describe() {
    var svg = box.querySelector(".djs-container > svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", figure.getAttribute("data-diagram-label"));
  }

  // Buttons for zooming (a keyboard or a touch screen has no wheel); a finger, or an arrow key, moves the diagram
  // in its box.
  function controls() {
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var action = event.target.closest("button") && event.target.closest("button").value;
      if (action === "in" || action === "out") {
        canvas.zoom(canvas.zoom() * (action === "in" ? 1.25 : 0.8), "auto");
      } else if (action === "all") {
        canvas.zoom("fit-viewport", "auto");
      }
    });
    var last = null;
    box.addEventListener("pointerdown", function (event) {
      last = event.pointerType === "touch" ? { x: event.clientX, y: event.clientY } : null;
    });
    box.addEventListener("pointermove", function (event) {
      if (last && event.pointerType === "touch") {
        canvas.scroll({ dx: event.clientX - last.x, dy: event.clientY - last.y });
        last = { x: event.clientX, y: event.clientY };
      }
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      box.addEventListener(name, function () { last = null; });
    });
    window.addEventListener("resize", function () { canvas.resized(); });
    // bpmn-js moves the diagram with Ctrl and an arrow key; a plain arrow key does it here too.
    var steps = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    box.querySelector(".djs-container > svg").addEventListener("keydown", function (event) {
      var step = steps[event.key];
      if (step && !event.ctrlKey && !event.metaKey && !event.altKey) {
        canvas.scroll({ dx: step[0] * STEP, dy: step[1] * STEP });
        event.preventDefault();
      }
    });
  }

  fetch(figure.getAttribute("data-diagram-source"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("diagram data: HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      return viewer.importXML(data.xml).then(function () {
        describe();
        start();
        mark(data);
        controls();
        figure.setAttribute("data-diagram-drawn", "true"); // for tests: the diagram and its marks are in place
      });
    })
    .catch(failed);
})();
