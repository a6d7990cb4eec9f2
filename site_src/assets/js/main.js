// Entry point. With instant navigation the theme swaps page content without a reload, so figures
// are (re)initialised on every page load through the theme's document$ observable.
// A figure mounts (fetches its data and the sheets of its first view) only as it approaches the
// viewport: half a screen ahead is time enough for a few small sheets, and figures further down
// cost nothing until the reader gets there.
import { downloads } from "./downloads.js";
import { mount } from "./figure-shell.js";
import { el } from "./frames.js";
import { predictions } from "./predict.js";
import { scrolly } from "./scrolly.js";
import { share } from "./share.js";

let teardown = [];

function start(root) {
  delete root.dataset.defer;
  mount(root).then((controller) => {
    if (!controller) return;
    const section = root.closest(".nti-scrolly");
    // a link's view first: the text's step in view at load must not override it
    return share(root, controller).then((stopSharing) => {
      const stopScrolly = section ? scrolly(section, controller) : () => {};
      const stopDownloads = downloads(root, controller);
      controller.refit();
      teardown.push(() => { stopScrolly(); stopSharing(); stopDownloads(); controller.destroy(); });
    });
  }).catch((error) => {
    root.append(el("p", { class: "nti-empty", text: `This figure could not be loaded: ${error.message}` }));
    console.error(error);
  });
}

function init() {
  teardown.splice(0).forEach((stop) => stop());
  predictions();
  const roots = Array.from(document.querySelectorAll(".nti-figure[data-kind]"));
  if (!("IntersectionObserver" in window)) return roots.forEach(start);
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      start(entry.target);
    }
  }, { rootMargin: "50% 0px 50% 0px" });
  for (const root of roots) {
    root.dataset.defer = "true"; // tests and tools: not mounted yet, by design
    observer.observe(root);
  }
  teardown.push(() => observer.disconnect());
}

if (window.document$) window.document$.subscribe(init);
else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
