/* The web simulator: show what is sent to the phones without reloading the page.
   Every 2 seconds it reads /simulator/pesan.json and redraws a phone whose transcript
   changed (as text, never as HTML). Without this script the page works the same:
   sending a message, or reloading, shows the new messages. */
(function () {
  "use strict";
  var chats = document.querySelectorAll("ol.chat[data-phone]");
  if (!chats.length || !window.fetch) { return; }
  function lastKey(chat) {
    var items = chat.querySelectorAll("li[data-key]");
    return items.length ? items[items.length - 1].getAttribute("data-key") : "";
  }
  function draw(chat, lines) {
    while (chat.firstChild) { chat.removeChild(chat.firstChild); }
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.className = "msg " + (line.incoming ? "in" : "out");
      item.setAttribute("data-key", line.key);
      var text = document.createElement("p");
      text.textContent = line.text;
      var meta = document.createElement("small");
      meta.textContent = line.meta;
      item.appendChild(text);
      item.appendChild(meta);
      chat.appendChild(item);
    });
    chat.scrollTop = chat.scrollHeight;
  }
  function poll() {
    window.fetch("/simulator/pesan.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (body) {
        if (!body || !body.phones) { return; }
        chats.forEach(function (chat) {
          var lines = body.phones[chat.getAttribute("data-phone")] || [];
          var newest = lines.length ? lines[lines.length - 1].key : "";
          if (newest && newest !== lastKey(chat)) { draw(chat, lines); }
        });
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  chats.forEach(function (chat) { chat.scrollTop = chat.scrollHeight; });
  window.setTimeout(poll, 2000);
})();
