// Storm bulletin upload on the coordinator page (coordinator and admin): the file goes to POST /api/storms
// with the session and the CSRF header; the answer (storm name and exposed communes, or the reason it was
// refused) is said in place, then the page reloads to show the proposal and its overlay.
"use strict";
(function () {
  const form = document.getElementById("storm-upload");
  if (!form) return;
  const out = document.getElementById("storm-upload-result");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    out.textContent = "Đang nhập bản tin…";
    try {
      const res = await fetch("/api/storms", {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": window.Trucban.cookie("tb_csrf") },
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) { out.textContent = "Không nhập được: " + (body.detail || res.status); out.className = "error"; return; }
      out.className = "ok";
      out.textContent = "Đã nhập " + body.name + ": " + body.exposure.length + " xã/phường nằm trên đường đi của bão.";
      form.dataset.imported = String(body.id);
      setTimeout(() => location.reload(), 1500);
    } catch (err) {
      out.textContent = "Không gửi được tệp (mất kết nối?)"; out.className = "error";
    } finally {
      button.disabled = false;
    }
  });
})();
