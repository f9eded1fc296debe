/*! MailSetu journey analytics: first-party, anonymous, no dependencies.
 * Keeps exactly the three localStorage keys the cookie policy declares (section 2.2):
 *   ms_journey_visitor_id   random id, persistent
 *   ms_journey_session_id   {"id": random id, "at": last activity in ms}; a new id after 30 minutes
 *                           idle, or when a fresh tab enters the site from outside (see newVisit):
 *                           localStorage outlives the browser, so this stands in for "per session"
 *   ms_journey_first_touch  first referrer host + utm_* parameters, written once
 * Sends page views, History API transitions and journey.step("name") to this script's own
 * origin with navigator.sendBeacon, batched. Silent under Do-Not-Track / Global Privacy
 * Control or without storage. Never throws into the page.
 */
(function () {
  "use strict";
  var CONFIG = __JOURNEY_CONFIG__;
  var VISITOR = "ms_journey_visitor_id", SESSION = "ms_journey_session_id", FIRST_TOUCH = "ms_journey_first_touch";
  var ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  var script = document.currentScript; // only set while this file first runs

  function safe(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { /* analytics must never break the page */ }
    };
  }

  function optedOut() {
    var n = navigator;
    return n.doNotTrack === "1" || n.doNotTrack === "yes" || window.doNotTrack === "1" ||
      n.msDoNotTrack === "1" || n.globalPrivacyControl === true;
  }

  function newId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID(); // secure contexts only
    var b = c.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128; // version 4, RFC 4122 variant
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // Path plus the allowed query keys: the rest (emails, tokens) never leaves the browser.
  function reduce(href) {
    var url = new URL(href, location.href), kept = new URLSearchParams();
    CONFIG.query_keys.forEach(function (key) {
      var value = url.searchParams.get(key);
      if (value) kept.set(key, value.slice(0, 100));
    });
    var query = kept.toString();
    return url.pathname + (query ? "?" + query : "");
  }

  function sameSiteReferrer() {
    try { return document.referrer && new URL(document.referrer).origin === location.origin; } catch (e) { return false; }
  }

  // A fresh tab entering the site from outside starts a new session even within the idle window:
  // a plain navigation (not a reload or back/forward), no same-site referrer, and no history of
  // its own (at most the new-tab page before this one). Reloads and in-site links keep the session.
  function newVisit() {
    var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    return history.length <= 2 && (!nav || nav.type === "navigate") && !sameSiteReferrer();
  }

  function start(store) {
    var visitor = store.getItem(VISITOR);
    if (!ID_SHAPE.test(visitor || "")) {
      visitor = newId();
      store.setItem(VISITOR, visitor);
      if (store.getItem(VISITOR) !== visitor) return null; // storage refuses writes: stay silent
    }

    var utmKeys = CONFIG.query_keys.filter(function (key) { return key.indexOf("utm_") === 0; });
    var stored = parse(store.getItem(FIRST_TOUCH));
    if (!stored) {
      var params = new URLSearchParams(location.search);
      stored = { referrer: document.referrer && !sameSiteReferrer() ? new URL(document.referrer).host : null };
      utmKeys.forEach(function (key) { stored[key] = (params.get(key) || "").slice(0, 200) || null; });
      store.setItem(FIRST_TOUCH, JSON.stringify(stored));
    }
    var firstTouch = {}; // only the fields the server knows, whatever an older version stored
    ["referrer"].concat(utmKeys).forEach(function (key) {
      if (typeof stored[key] === "string") firstTouch[key] = stored[key].slice(0, 200);
    });

    var endpoint = new URL(CONFIG.endpoint, script && script.src ? script.src : location.href).href;
    var stepShape = new RegExp(CONFIG.step_pattern);
    var queue = [], queuedSession = null, timer = null, freshTab = newVisit();

    function session() {
      var now = Date.now(), saved = parse(store.getItem(SESSION)) || {};
      if (freshTab || !ID_SHAPE.test(saved.id || "") || !(now - saved.at <= CONFIG.session_idle_ms)) {
        saved = { id: newId() };
        freshTab = false;
      }
      saved.at = now;
      store.setItem(SESSION, JSON.stringify(saved));
      return saved.id;
    }

    function send(body) {
      if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
      if (window.fetch) fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit" })["catch"](function () {});
    }

    var flush = safe(function () {
      clearTimeout(timer);
      timer = null;
      while (queue.length) {
        var now = Date.now();
        var events = queue.splice(0, CONFIG.max_batch).map(function (e) {
          var out = { type: e.type, url: e.url, age_ms: Math.min(Math.max(0, now - e.at), 86400000) };
          if (e.from_url) out.from_url = e.from_url;
          if (e.step) out.step = e.step;
          return out;
        });
        send(JSON.stringify({ visitor_id: visitor, session_id: queuedSession, first_touch: firstTouch, events: events }));
      }
    });

    function track(type, url, extra) {
      var id = session();
      if (queue.length && id !== queuedSession) flush(); // one session per batch
      queuedSession = id;
      var event = { type: type, url: url, at: Date.now() };
      for (var key in extra) if (extra[key]) event[key] = extra[key];
      queue.push(event);
      if (queue.length >= CONFIG.max_batch) flush();
      else if (!timer) timer = setTimeout(flush, CONFIG.flush_ms);
    }

    var current = reduce(location.href);
    track("page_view", current, { from_url: sameSiteReferrer() ? reduce(document.referrer) : null });

    var navigated = safe(function () {
      var next = reduce(location.href);
      if (next === current) return;
      track("transition", next, { from_url: current });
      current = next;
    });
    ["pushState", "replaceState"].forEach(function (name) {
      var original = history[name];
      if (typeof original !== "function") return;
      history[name] = function () {
        var result = original.apply(this, arguments);
        navigated();
        return result;
      };
    });
    addEventListener("popstate", navigated);
    addEventListener("pageshow", safe(function (e) { if (e.persisted) track("page_view", current, {}); }));
    addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });

    return {
      step: safe(function (name) {
        if (typeof name === "string" && stepShape.test(name)) track("step", current, { step: name });
      }),
      flush: flush
    };
  }

  var journey = { step: function () {}, flush: function () {} };
  try {
    var store = !optedOut() && window.localStorage;
    journey = (store && start(store)) || journey;
  } catch (e) { /* no storage, no crypto, or an old browser: do nothing */ }
  window.journey = journey;
})();
