/* MailSetu storage guard: the readable source. governance/enforcement/guardjs.py minifies it and
 * replaces __GUARD_CONFIG__ with the declarations in force; its docstring says what the guard
 * covers and what a script in the page cannot. Three layers:
 *   1. interception: every write path of Web Storage, document.cookie and cookieStore, in this
 *      window and in every same-origin window it can reach (frames, popups) before page code can;
 *   2. detection: a `storage` or cookieStore `change` event (a write from another window) sweeps at once;
 *   3. sweep: on load, on visibilitychange/pagehide and every SWEEP_MS, undeclared items are
 *      reported (and removed in enforce mode), whoever wrote them.
 * Tamper resistance: every native is captured here, while the page is pristine (the guard must
 * be the first script), and called uncurried; objects the engine reads for us (proxy handlers,
 * property descriptors, report bodies) have no prototype, so nothing the page adds to
 * Object.prototype can reach them. No page global is called after load. */
(function (config) {
  "use strict";

  // ---- natives ---------------------------------------------------------------------------------
  function nullObject() { return create(null); }
  var fnProto = Function.prototype;
  var uncurry = fnProto.bind.bind(fnProto.call); // uncurry(f)(self, a) is f.call(self, a), without looking up `call`
  var apply = Reflect.apply, reflectSet = Reflect.set, reflectDefine = Reflect.defineProperty;
  var reflectHas = Reflect.has, protoOf = Reflect.getPrototypeOf;
  var define = Object.defineProperty, describe = Object.getOwnPropertyDescriptor, create = Object.create;
  var hasOwn = uncurry(Object.prototype.hasOwnProperty);
  var toText = String, now = Date.now, utc = Date.UTC, stringify = JSON.stringify, GuardProxy = Proxy;
  var strProto = String.prototype, charCode = uncurry(strProto.charCodeAt), slice = uncurry(strProto.slice);
  var indexOf = uncurry(strProto.indexOf), lower = uncurry(strProto.toLowerCase);
  var wellFormed = strProto.toWellFormed ? uncurry(strProto.toWellFormed) : function (s) { return s; };
  var weakGet = uncurry(WeakMap.prototype.get), weakSet = uncurry(WeakMap.prototype.set);
  var seenHas = uncurry(WeakSet.prototype.has), seenAdd = uncurry(WeakSet.prototype.add);
  var listen = uncurry(EventTarget.prototype.addEventListener);
  var Observer = MutationObserver, observe = uncurry(MutationObserver.prototype.observe);
  var later = setTimeout, every = setInterval, stop = clearInterval, resolved = Promise.resolve.bind(Promise);
  var beacon = uncurry(Navigator.prototype.sendBeacon), nav = navigator, loc = location;

  function getter(proto, name) {
    var d = proto && describe(proto, name);
    return d && hasOwn(d, "get") && d.get ? uncurry(d.get) : null;
  }
  var storageProto = Storage.prototype, docProto = Document.prototype, storageMethods = nullObject();
  var names = ["setItem", "getItem", "removeItem", "key", "clear"];
  for (var n = 0; n < names.length; n++) storageMethods[names[n]] = storageProto[names[n]];
  var nativeSetItem = uncurry(storageProto.setItem), nativeKey = uncurry(storageProto.key);
  var nativeRemove = uncurry(storageProto.removeItem), storageLength = getter(storageProto, "length");
  var cookieDescriptor = describe(docProto, "cookie");
  var getCookies = uncurry(cookieDescriptor.get), setCookie = uncurry(cookieDescriptor.set);
  var defaultView = getter(docProto, "defaultView"), frameCount = getter(window, "length");
  var isClosed = getter(window, "closed");

  // ---- configuration (read once, here) ---------------------------------------------------------
  var ENFORCE = config.mode === "enforce", MODE = ENFORCE ? "enforce" : "report";
  var REQUIRE_SECURE = config.require_secure === true;
  var EXPIRES_SLACK = 120; // seconds, as the server guard allows an Expires date (cookies.py)
  var SWEEP_MS = 5000;
  var script = document.currentScript;
  var ENDPOINT = new URL(config.endpoint, (script && script.src) || loc.href).href;
  var USER_AGENT = slice(nav.userAgent, 0, 512);
  // The windows protected so far, by their Location: one per window object (it survives the reuse
  // of a frame's first window by its same-origin document, as the guard's changes do), and
  // unforgeable, so page code can neither fake nor hide it.
  var guarded = new WeakSet();
  var stores = new WeakMap(); // a real Storage or its proxy -> {real, proxy, kind}

  // Each kind's declarations: exact names first, then the longest prefix (as allowlist.py finds them).
  function compile(entries) {
    var rules = nullObject();
    rules.exact = nullObject();
    rules.prefixes = nullObject();
    rules.count = 0;
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i], d = nullObject();
      d.name = e[0]; d.httpOnly = e[2]; d.secure = e[3]; d.sameSite = e[4];
      d.domain = e[5] === null ? null : stripDots(lower(e[5])); d.path = e[6];
      d.duration = e[7]; d.maxAge = e[8];
      if (e[1]) rules.prefixes[rules.count++] = d; // the renderer sorts prefixes longest first
      else rules.exact[d.name] = d;
    }
    return rules;
  }
  var RULES = nullObject();
  RULES.cookie = compile(config.allow.cookie);
  RULES.local_storage = compile(config.allow.local_storage);
  RULES.session_storage = compile(config.allow.session_storage);

  function declaration(kind, name) {
    var rules = RULES[kind], d = rules.exact[name];
    if (d) return d;
    for (var i = 0; i < rules.count; i++) {
      d = rules.prefixes[i];
      if (slice(name, 0, d.name.length) === d.name) return d;
    }
    return null;
  }

  // ---- reports: once per page load and (kind, name, reason); names only, never a value --------
  var seen = nullObject();
  function report(kind, name, reason) {
    var id = kind + "\n" + name + "\n" + reason;
    if (seen[id]) return;
    seen[id] = 1;
    var body = nullObject();
    body.kind = kind;
    body.name = slice(name, 0, 255) || "(nameless)";
    body.reason = reason;
    body.mode = MODE;
    body.page = slice(loc.origin + loc.pathname, 0, 2048);
    body.user_agent = USER_AGENT;
    try { beacon(nav, ENDPOINT, stringify(body)); } catch (e) { /* a report must never break the page */ }
  }

  // Whether a write may go ahead (reported when not); `kind` null: a Storage the guard cannot place.
  function storageAllowed(kind, name) {
    if (kind ? declaration(kind, name) : declaration("local_storage", name) && declaration("session_storage", name)) {
      return true;
    }
    report(kind || "local_storage", name, "undeclared");
    return !ENFORCE;
  }

  // ---- cookies: what the browser would store (RFC 6265bis 5.6, as Chromium applies it) ---------
  function isBlank(c) { return c === 32 || c === 9; }
  function trim(s) {
    var a = 0, b = s.length;
    while (a < b && isBlank(charCode(s, a))) a++;
    while (b > a && isBlank(charCode(s, b - 1))) b--;
    return slice(s, a, b);
  }
  function stripDots(s) {
    var i = 0;
    while (charCode(s, i) === 46) i++;
    return slice(s, i);
  }
  function digitsFrom(s, from) {
    if (s.length <= from) return false;
    for (var i = from; i < s.length; i++) {
      var c = charCode(s, i);
      if (c < 48 || c > 57) return false;
    }
    return true;
  }

  // The attributes the rules read; browsers ignore the others. A literal with every one of them
  // its own property (undefined when absent), so no read reaches Object.prototype, and fast.
  function noAttributes() {
    return { expires: undefined, "max-age": undefined, domain: undefined, path: undefined, secure: undefined, httponly: undefined, samesite: undefined };
  }
  var KNOWN = noAttributes();

  // {name, attrs} of `document.cookie = text`, or null when the browser stores nothing at all.
  // Attribute names are lower-cased and the last of each wins, as in the server's parse_set_cookie.
  function parseCookie(text) {
    for (var i = 0; i < text.length; i++) {
      var c = charCode(text, i);
      if ((c < 32 && c !== 9) || c === 127) return null; // control characters: the whole cookie is ignored
    }
    var end = indexOf(text, ";"), pair = end < 0 ? text : slice(text, 0, end), eq = indexOf(pair, "=");
    var cookie = nullObject(), attrs = (cookie.attrs = noAttributes());
    cookie.name = eq < 0 ? "" : trim(slice(pair, 0, eq)); // only SP and HTAB are trimmed: U+00A0 stays
    var value = trim(eq < 0 ? pair : slice(pair, eq + 1));
    if ((cookie.name === "" && value === "") || cookie.name.length + value.length > 4096) return null;
    cookie.ambiguous = false;
    while (end >= 0) {
      var start = end + 1;
      end = indexOf(text, ";", start);
      var av = slice(text, start, end < 0 ? text.length : end), at = indexOf(av, "=");
      var key = lower(trim(at < 0 ? av : slice(av, 0, at))), val = at < 0 ? "" : trim(slice(av, at + 1));
      if (!hasOwn(KNOWN, key) || val.length > 1024) continue; // browsers ignore over-long attribute values
      // Browsers disagree on which of two lifetimes counts: such a cookie proves no lifetime.
      if ((key === "max-age" || key === "expires") && attrs[key] !== undefined) cookie.ambiguous = true;
      attrs[key] = val;
    }
    return cookie;
  }

  // Seconds the browser keeps the cookie (<= 0: a deletion), null for a session cookie, and NaN
  // when browsers would read the string differently (so neither a deletion nor a known lifetime).
  function lifetime(cookie, at) {
    if (cookie.ambiguous) return NaN;
    var maxAge = cookie.attrs["max-age"], expires = cookie.attrs.expires;
    if (maxAge !== undefined) {
      var sign = charCode(maxAge, 0);
      if (digitsFrom(maxAge, sign === 45 ? 1 : 0)) return +maxAge;
      if (sign === 43 && digitsFrom(maxAge, 1)) return NaN; // "+5": Chromium reads it, RFC 6265bis ignores it
    }
    if (expires === undefined) return null;
    var when = cookieDate(expires);
    return when === null || when !== when ? when : (when - at) / 1000;
  }

  function isDelimiter(c) {
    return c === 9 || (c >= 32 && c <= 47) || (c >= 59 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  }
  function isDigit(c) { return c >= 48 && c <= 57; }
  var MONTHS = "janfebmaraprmayjunjulaugsepoctnovdec";

  // RFC 6265bis 5.1.1 cookie-date, in ms since the epoch; null when no browser reads a date in
  // `text`, NaN when browsers would disagree (a token only one of them accepts, a year before 1601).
  function cookieDate(text) {
    var day = -1, month = -1, year = -1, hour = -1, minute = 0, second = 0, unsure = false;
    for (var i = 0; i < text.length; ) {
      while (i < text.length && isDelimiter(charCode(text, i))) i++;
      var start = i;
      while (i < text.length && !isDelimiter(charCode(text, i))) i++;
      if (i === start) break;
      var token = slice(text, start, i), parts = time(token);
      if (!isDigit(charCode(token, 0))) {
        var m = indexOf(MONTHS, lower(slice(token, 0, 3)));
        if (month < 0 && token.length >= 3 && m >= 0 && m % 3 === 0) month = m / 3;
      } else if (parts) {
        if (hour < 0) { hour = parts[0]; minute = parts[1]; second = parts[2]; } else unsure = true;
      } else if (digitsFrom(token, 0) && day < 0 && token.length <= 2) {
        day = +token;
      } else if (digitsFrom(token, 0) && year < 0 && token.length >= 2 && token.length <= 4) {
        year = +token;
      } else {
        unsure = true; // e.g. "1:2:345", "01x", a fifth number: parsers part ways here
      }
    }
    if (day < 0 || month < 0 || year < 0 || hour < 0) return unsure ? NaN : null;
    if (year <= 69) year += 2000;
    else if (year <= 99) year += 1900;
    if (unsure || year < 1601 || second === 60) return NaN;
    if (day < 1 || day > daysIn(month + 1, year) || hour > 23 || minute > 59 || second > 59) return null;
    return utc(year, month, day, hour, minute, second);
  }
  function time(token) { // [h, m, s] of exactly "h:m:s" with one or two digits each, else null
    var parts = [0, 0, 0], n = 0, digits = 0;
    for (var i = 0; i < token.length; i++) {
      var c = charCode(token, i);
      if (c === 58 && digits > 0 && n < 2) { n++; digits = 0; }
      else if (isDigit(c) && digits < 2) { parts[n] = parts[n] * 10 + c - 48; digits++; }
      else return null;
    }
    return n === 2 && digits > 0 ? parts : null;
  }
  function daysIn(month, year) {
    if (month !== 2) return 30 + ((month + (month >> 3)) & 1);
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  }

  // The reason page code may not store this cookie, "" when it may: the server guard's rules
  // (cookies.py `mismatches`, first finding) plus "a name declared HttpOnly is never set by script".
  function cookieVerdict(cookie, life) {
    var d = declaration("cookie", cookie.name), attrs = cookie.attrs;
    if (!d) return "undeclared";
    if (d.httpOnly === true || (d.httpOnly === false && attrs.httponly !== undefined)) return "http_only";
    if ((d.secure === true || REQUIRE_SECURE) && attrs.secure === undefined) return "secure";
    if (d.sameSite !== null && lower(attrs.samesite || "") !== d.sameSite) return "same_site";
    if (d.domain !== null && stripDots(lower(attrs.domain || "")) !== d.domain) return "domain";
    if (d.path !== null && (attrs.path || "") !== d.path) return "path";
    if (life === null || d.duration === "persistent") return "";
    if (life !== life || d.duration === "session") return "duration";
    return life > (d.maxAge || 0) + (attrs["max-age"] !== undefined ? 0 : EXPIRES_SLACK) ? "duration" : "";
  }

  function cookieAllowed(cookie, life) {
    if (life !== null && life <= 0) return true; // a real deletion stores nothing
    var reason = cookieVerdict(cookie, life);
    if (!reason) return true;
    report("cookie", cookie.name, reason);
    return !ENFORCE;
  }

  // A USVString argument converted once, as the browser would (a Symbol throws the same TypeError).
  function usv(value) { return typeof value === "symbol" ? "" + value : wellFormed(toText(value)); }

  // cookieStore.set(name, value) or set({name, value, ...}): the same checks on the cookie it makes
  // (Path "/", SameSite Strict and Secure unless told otherwise). Each option is read and converted
  // once, and the native gets that copy, so a getter cannot show the check one value and the browser another.
  function cookieStoreSet(nativeSet) {
    return function set(nameOrOptions, value) {
      var options = nameOrOptions, copy = nullObject(), attrs = noAttributes(), cookie = nullObject();
      var byOptions = options !== null && (typeof options === "object" || typeof options === "function");
      if (!byOptions && arguments.length < 2) return apply(nativeSet, this, arguments); // the native's TypeError
      if (byOptions) {
        var v = options.domain;
        if (v !== undefined && v !== null) copy.domain = attrs.domain = usv(v);
        v = options.expires;
        if (v !== undefined && v !== null) copy.expires = +v;
        v = options.name;
        if (v !== undefined) copy.name = usv(v);
        v = options.partitioned;
        if (v !== undefined) copy.partitioned = !!v;
        v = options.path;
        if (v !== undefined) copy.path = usv(v);
        v = options.sameSite;
        if (v !== undefined) copy.sameSite = usv(v);
        v = options.value;
        if (v !== undefined) copy.value = usv(v);
      } else {
        copy.name = usv(nameOrOptions);
        copy.value = usv(value);
      }
      cookie.name = trim(copy.name === undefined ? "" : copy.name);
      attrs.path = copy.path === undefined ? "/" : copy.path;
      attrs.samesite = copy.sameSite === undefined ? "strict" : copy.sameSite;
      attrs.secure = "";
      cookie.attrs = attrs;
      if (!cookieAllowed(cookie, copy.expires === undefined ? null : (copy.expires - now()) / 1000)) {
        return resolved(undefined);
      }
      return apply(nativeSet, this, byOptions ? [copy] : [copy.name, copy.value]);
    };
  }

  // ---- sweep: what interception could not stop -------------------------------------------------
  function sweepStorage(entry) {
    try {
      var store = entry.real, names = nullObject(), n = storageLength(store), i;
      for (i = 0; i < n; i++) names[i] = nativeKey(store, i);
      for (i = 0; i < n; i++) {
        if (names[i] === null || declaration(entry.kind, names[i])) continue;
        report(entry.kind, names[i], "undeclared");
        if (ENFORCE) nativeRemove(store, names[i]);
      }
    } catch (e) { /* storage gone or denied */ }
  }

  function sweepCookies(doc) {
    try {
      var all = getCookies(doc);
      for (var start = 0; start < all.length; ) {
        var end = indexOf(all, "; ", start);
        if (end < 0) end = all.length;
        var pair = slice(all, start, end), eq = indexOf(pair, "="), name = eq < 0 ? "" : slice(pair, 0, eq);
        var d = declaration("cookie", name), reason = !d ? "undeclared" : d.httpOnly === true ? "http_only" : "";
        start = end + 2;
        if (!reason) continue;
        report("cookie", name, reason); // document.cookie never shows an HttpOnly cookie: this one was set by script
        if (ENFORCE) expire(doc, eq < 0 ? pair : name + "=");
      }
    } catch (e) { /* a cookie-averse document */ }
  }

  // document.cookie does not say a cookie's Path or Domain: expire it under every Path that could
  // show it on this page and every Domain this host may set.
  function expire(doc, prefix) {
    var path = loc.pathname, host = loc.hostname, secure = loc.protocol === "https:" ? "; secure" : "";
    for (var i = 1; i <= path.length; i++) {
      if (i < path.length && charCode(path, i - 1) !== 47 && charCode(path, i) !== 47) continue;
      var base = prefix + "; max-age=0; path=" + slice(path, 0, i) + secure;
      setCookie(doc, base);
      for (var d = host; d; d = indexOf(d, ".") < 0 ? "" : slice(d, indexOf(d, ".") + 1)) setCookie(doc, base + "; domain=" + d);
    }
  }

  // ---- protecting one window (this one, and every same-origin window the page can reach) -------
  function attempt(step, win, realm) {
    try { step(win, realm); } catch (e) { /* a missing API or a non-configurable property: the other steps still apply */ }
  }
  function replace(object, name, value) {
    var d = nullObject();
    d.value = value;
    d.writable = d.enumerable = d.configurable = true;
    define(object, name, d);
  }
  function replaceGetter(object, name, get) {
    var d = nullObject();
    d.get = get;
    d.enumerable = d.configurable = true;
    define(object, name, d);
  }
  function wrapGetter(object, name, after) {
    var get = getter(object, name);
    if (get) replaceGetter(object, name, function () { return after(get(this)); });
  }

  function protect(win, own) {
    try {
      if (!win || seenHas(guarded, win.location)) return;
      seenAdd(guarded, win.location);
      describe(win, "localStorage"); // throws for a cross-origin window: not ours to guard
    } catch (e) {
      return;
    }
    var realm = nullObject();
    realm.entries = nullObject();
    realm.listeners = nullObject();
    realm.count = 0;
    attempt(guardStorage, win, realm);
    attempt(guardCookies, win, realm);
    attempt(guardGeolocation, win, realm);
    attempt(guardFrames, win, realm);
    attempt(detect, win, realm);
    if (own) attempt(sweepRegularly, win, realm);
  }

  // The guard's event listeners (all capturing). document.open() erases a document's and its
  // window's listeners, not MutationObservers: the observer adds them again (a no-op when present).
  function hear(realm, target, type, handler) {
    var l = nullObject();
    l.target = target; l.type = type; l.handler = handler;
    realm.listeners[realm.count++] = l;
    listen(target, type, handler, true);
  }
  function hearAgain(realm) {
    for (var i = 0; i < realm.count; i++) {
      var l = realm.listeners[i];
      listen(l.target, l.type, l.handler, true);
    }
  }

  function protectFrames(win) {
    try {
      for (var i = 0, n = frameCount(win); i < n; i++) {
        protect(win[i], false);
        protectFrames(win[i]);
      }
    } catch (e) { /* a cross-origin frame */ }
  }

  function guardStorage(win, realm) {
    var proto = win.Storage.prototype;
    replace(proto, "setItem", setItem);
    var names = ["getItem", "removeItem", "key", "clear"];
    for (var i = 0; i < names.length; i++) replace(proto, names[i], unwrapping(storageMethods[names[i]]));
    replaceGetter(proto, "length", function () { return storageLength(realStore(this)); });
    wrapGetter(win.StorageEvent.prototype, "storageArea", function (area) {
      var entry = area && weakGet(stores, area);
      return entry ? entry.proxy : area;
    });
    realm.entries.local = swapStorage(win, "localStorage", "local_storage");
    realm.entries.session = swapStorage(win, "sessionStorage", "session_storage");
  }

  function realStore(self) {
    var entry = weakGet(stores, self);
    return entry ? entry.real : self;
  }
  function unwrapping(native) {
    return function () { return apply(native, realStore(this), arguments); };
  }

  // Storage.prototype.setItem, in every protected window. `this` may be a proxy of ours.
  function setItem(key, value) {
    var entry = weakGet(stores, this), store = entry ? entry.real : this;
    if (!entry) {
      try { storageLength(store); } catch (e) { return apply(storageMethods.setItem, store, arguments); } // not a Storage: the native's TypeError
    }
    if (arguments.length < 2 || typeof key === "symbol") return apply(storageMethods.setItem, store, arguments);
    var name = toText(key); // converted once; the native gets the string, so a second toString cannot differ
    if (storageAllowed(entry ? entry.kind : null, name)) nativeSetItem(store, name, value);
  }

  // window.localStorage / sessionStorage become a Proxy of the real Storage: property writes
  // (`s.x = v`, `s["x"] = v`, Object.assign, Reflect.set) reach `set`, Object.defineProperty reaches
  // `defineProperty`; reads, `in`, Object.keys, delete and instanceof go to the real object untouched.
  function swapStorage(win, property, kind) {
    var d = describe(win, property);
    if (!d || !hasOwn(d, "get") || !d.configurable) return null;
    var real = apply(d.get, win, []); // throws when storage is denied: nothing to guard then
    var entry = nullObject(), handler = nullObject();
    entry.real = real;
    entry.kind = kind;
    handler.set = function (target, key, value, receiver) {
      // Chromium writes an item only for a string key not found on the prototype chain; else an
      // ordinary property (or a setter) takes the value, as here.
      if (typeof key === "symbol" || receiver !== entry.proxy || onChain(target, key)) {
        return reflectSet(target, key, value, receiver);
      }
      if (storageAllowed(kind, key)) nativeSetItem(target, key, value);
      return true;
    };
    handler.defineProperty = function (target, key, desc) {
      if (typeof key === "symbol" || onChain(target, key)) return reflectDefine(target, key, desc);
      if (hasOwn(desc, "get") || hasOwn(desc, "set")) return false; // the browser refuses accessors too
      if (storageAllowed(kind, key)) nativeSetItem(target, key, hasOwn(desc, "value") ? desc.value : undefined);
      return true;
    };
    entry.proxy = new GuardProxy(real, handler);
    weakSet(stores, real, entry);
    weakSet(stores, entry.proxy, entry);
    replaceGetter(win, property, function () { return entry.proxy; });
    return entry;
  }
  function onChain(target, key) {
    var proto = protoOf(target);
    return proto !== null && reflectHas(proto, key);
  }

  function guardCookies(win, realm) {
    var proto = win.Document.prototype, descriptor = nullObject();
    descriptor.get = cookieDescriptor.get;
    descriptor.set = function (value) {
      var string = usv(value), cookie = parseCookie(string);
      // A string the browser ignores stores nothing: dropped in enforce mode, passed on in report mode.
      if (cookie ? cookieAllowed(cookie, lifetime(cookie, now())) : !ENFORCE) setCookie(this, string);
    };
    descriptor.enumerable = descriptor.configurable = true;
    define(proto, "cookie", descriptor);
    var store = win.CookieStore && win.CookieStore.prototype;
    if (store && store.set) replace(store, "set", cookieStoreSet(store.set));
  }

  // The policy promises no browser geolocation prompts: a call is reported (and refused in enforce mode).
  function guardGeolocation(win) {
    var proto = win.Geolocation.prototype;
    replace(proto, "getCurrentPosition", refusing(proto.getCurrentPosition, undefined));
    replace(proto, "watchPosition", refusing(proto.watchPosition, 0));
  }
  function refusing(native, result) {
    return function (success, error) {
      report("api", "geolocation", "promised_absent");
      if (!ENFORCE) return apply(native, this, arguments);
      if (typeof error === "function") {
        later(function () {
          error({ code: 1, message: "geolocation is not used on this site", PERMISSION_DENIED: 1, POSITION_UNAVAILABLE: 2, TIMEOUT: 3 });
        }, 0);
      }
      return result;
    };
  }

  // A same-origin window is protected before page code gets hold of it: through a frame element's
  // contentWindow/contentDocument/getSVGDocument(), window.open, or (for frames the parser adds
  // and `window[i]`) a MutationObserver, which runs before the next script.
  function guardFrames(win, realm) {
    var owners = ["HTMLIFrameElement", "HTMLFrameElement", "HTMLObjectElement", "HTMLEmbedElement"];
    for (var i = 0; i < owners.length; i++) {
      var proto = win[owners[i]] && win[owners[i]].prototype;
      if (!proto) continue;
      wrapGetter(proto, "contentWindow", protectedWindow);
      wrapGetter(proto, "contentDocument", protectedDocument);
      if (typeof proto.getSVGDocument === "function") replace(proto, "getSVGDocument", protectingResult(proto.getSVGDocument));
    }
    var open = win.open;
    replace(win, "open", function () {
      var opened = apply(open, this === undefined ? win : this, arguments);
      protect(opened, true); // a popup has sessionStorage of its own: it sweeps too
      return opened;
    });
    var doc = win.document, options = nullObject();
    options.childList = options.subtree = true;
    observe(new Observer(function () { protectFrames(win); hearAgain(realm); }), doc, options);
    hear(realm, doc, "load", function () { protectFrames(win); }); // a frame's load reaches its parent document
  }
  function protectedWindow(win) {
    protect(win, false);
    return win;
  }
  function protectedDocument(doc) {
    if (doc) protect(defaultView(doc), false);
    return doc;
  }
  function protectingResult(native) {
    return function () { return protectedDocument(apply(native, this, arguments)); };
  }

  // A write from a window the guard never reached (or a native borrowed from one) fires `storage`
  // or a cookieStore `change` here: sweep at once. Listeners capture, and were added first, so a
  // page listener cannot stop them. (`win.document` is unforgeable: no page code can redefine it.)
  function detect(win, realm) {
    hear(realm, win, "storage", function () { sweepStorage(realm.entries.local); sweepStorage(realm.entries.session); });
    if (win.cookieStore) hear(realm, win.cookieStore, "change", function () { sweepCookies(win.document); });
  }

  function sweepRegularly(win, realm) {
    var timer;
    function sweep() {
      if (isClosed(win)) return stop(timer); // a popup that was closed
      sweepStorage(realm.entries.local);
      sweepStorage(realm.entries.session);
      sweepCookies(win.document);
      protectFrames(win);
    }
    sweep();
    hear(realm, win.document, "visibilitychange", sweep);
    hear(realm, win, "pagehide", sweep);
    timer = every(sweep, SWEEP_MS);
  }

  protect(window, true);
})(__GUARD_CONFIG__);
