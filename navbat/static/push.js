/* "Get reminders in this browser" on the patient's "My appointments" page (templates/notify/patient/).
   Asks the browser for permission, subscribes with the server's VAPID key and posts the subscription;
   "Stop" unsubscribes. The buttons stay hidden where the browser has no web push. */
"use strict";

(function () {
  const box = document.getElementById("push-reminders");
  if (!box) return;
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const status = box.querySelector("[data-push-status]");
  const csrf = box.dataset.csrf;

  function say(text) {
    status.textContent = text || "";
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) throw new Error(answer.message || box.dataset.failed);
    return answer;
  }

  function toggle(element, visible) {
    element.hidden = !visible;
    element.style.display = visible ? "" : "none"; // the site's button styles would outrank [hidden]
  }

  function show(subscribed) {
    toggle(on, !subscribed);
    toggle(off, subscribed);
  }

  async function registration() {
    return navigator.serviceWorker.register(box.dataset.worker, { scope: "/" });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return;
  }
  toggle(box, true);
  const section = box.closest("[data-push-only]"); // without Telegram the section is only this
  if (section) toggle(section, true);

  registration()
    .then((reg) => reg.pushManager.getSubscription())
    .then((subscription) => show(Boolean(subscription)))
    .catch(() => show(false));

  on.addEventListener("click", async () => {
    say("");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say(box.dataset.denied);
        return;
      }
      const reg = await registration();
      const subscription = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(box.dataset.key),
      });
      const answer = await post(box.dataset.subscribe, subscription.toJSON());
      show(true);
      say(answer.message);
    } catch (error) {
      say(error.message || box.dataset.failed);
    }
  });

  off.addEventListener("click", async () => {
    say("");
    try {
      const reg = await registration();
      const subscription = await reg.pushManager.getSubscription();
      if (subscription) {
        const answer = await post(box.dataset.unsubscribe, { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
        say(answer.message);
      }
      show(false);
    } catch (error) {
      say(error.message || box.dataset.failed);
    }
  });
})();
