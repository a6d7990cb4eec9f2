// Entry point. With instant navigation the theme swaps page content without a reload, so figures
// are (re)initialised on every page load through the theme's document$ observable.
(function (NTI) {
  "use strict";
  let teardown = [];

  function init() {
    teardown.splice(0).forEach((stop) => stop());
    for (const root of document.querySelectorAll(".nti-figure[data-kind]")) {
      NTI.mount(root).then((controller) => {
        if (!controller) return;
        const section = root.closest(".nti-scrolly");
        const stopScrolly = section ? NTI.scrolly(section, controller) : () => {};
        teardown.push(() => { stopScrolly(); controller.destroy(); });
      }).catch((error) => {
        root.append(NTI.el("p", { class: "nti-empty", text: `This figure could not be loaded: ${error.message}` }));
        console.error(error);
      });
    }
  }

  if (window.document$) window.document$.subscribe(init);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(window.NTI);
