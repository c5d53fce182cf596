// Adding a card with a tokenising gateway (Midtrans card registration, portal/card_tokenize.html): the card
// goes from this page straight to the gateway by JSONP (a <script> whose answer calls back a function named in
// the request), and only the gateway's saved token and the expiry the customer typed are posted to langganan.
(function () {
  var form = document.getElementById("card-entry");
  if (!form) {
    return;
  }
  var done = document.getElementById("card-token");
  var error = document.getElementById("card-entry-error");
  var status = document.getElementById("card-entry-status");
  var busy = false;

  function fail(key) {
    busy = false;
    status.textContent = "";
    error.textContent = form.getAttribute(key);
    error.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) {
      return;
    }
    var number = document.getElementById("card-number").value.replace(/[\s-]/g, "");
    var month = document.getElementById("card-month").value.trim();
    var year = document.getElementById("card-year").value.trim();
    if (!/^[0-9]{12,19}$/.test(number) || !/^[0-9]{1,2}$/.test(month) || +month < 1 || +month > 12 ||
        !/^[0-9]{4}$/.test(year)) {
      fail("data-refused");
      return;
    }
    if (month.length === 1) {
      month = "0" + month;
    }
    busy = true;
    error.hidden = true;
    status.textContent = form.getAttribute("data-sending");
    var name = "langgananCard" + Date.now() + Math.floor(Math.random() * 1e9);
    var script = document.createElement("script");
    var timer = null;

    function cleanup() {
      clearTimeout(timer);
      window[name] = function () {};  // an answer arriving after the timeout is dropped
      if (script.parentNode) {
        script.parentNode.removeChild(script);
      }
    }

    timer = setTimeout(function () {
      cleanup();
      fail("data-unreachable");
    }, 30000);
    window[name] = function (answer) {
      cleanup();
      if (answer && answer.status_code === "200" && typeof answer.saved_token_id === "string") {
        done.elements.saved_token_id.value = answer.saved_token_id;
        done.elements.exp_month.value = month;
        done.elements.exp_year.value = year;
        done.submit();
      } else {
        fail("data-refused");
      }
    };
    script.onerror = function () {
      cleanup();
      fail("data-unreachable");
    };
    var params = new URLSearchParams({card_number: number, card_exp_month: month, card_exp_year: year,
                                      client_key: form.getAttribute("data-client-key"), callback: name});
    script.src = form.getAttribute("data-tokenize-url") + "?" + params.toString();
    document.head.appendChild(script);
  });
})();
