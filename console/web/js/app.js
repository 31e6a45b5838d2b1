// The console's shell: config, sign-in, the header with the language switch, the navigation, the order
// tabs with their live counts, and a hash router that renders one view at a time into <main>.

import { ApiError, describe, makeApi } from "./api.js";
import { Session } from "./auth.js";
import { clear, h, uid } from "./dom.js";
import { initialLanguage, LANGUAGES, saveLanguage, statusLabel, translator } from "./i18n.js";

// The views, loaded when first opened. Their order is the navigation's.
const VIEWS = [
  ["orders", () => import("./views/orders.js")],
  ["pairings", () => import("./views/pairings.js")],
  ["stock", () => import("./views/stock.js")],
  ["print", () => import("./views/printing.js")],
  ["exceptions", () => import("./views/exceptions.js")],
  ["stores", () => import("./views/stores.js")],
];
const HIDDEN_VIEWS = [
  ["order", () => import("./views/order.js")],
  ["search", () => import("./views/orders.js")],
];
const NAV = {
  orders: { zh: "订单", en: "Orders" },
  pairings: { zh: "商品配对", en: "Pairing" },
  stock: { zh: "库存", en: "Stock" },
  print: { zh: "打印面单", en: "Print" },
  exceptions: { zh: "异常", en: "Exceptions" },
  stores: { zh: "店铺", en: "Stores" },
};
const DEFAULT_ROUTE = "#/orders/pending_review";
const TABS_EVERY_MS = 30_000; // the counts stay live while the page is open and seen

const state = {
  config: null,
  session: null,
  api: null,
  lang: initialLanguage(),
  tabs: [],
  renderSerial: 0,
  notice: null,
  tabsTimer: null,
};

const t = (key, vars) => translator(state.lang, null)(key, vars);

function routeOf(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const segments = path
    .split("/")
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  return { name: segments[0] || "", params: segments.slice(1), query: new URLSearchParams(query) };
}

function loaderFor(name) {
  return [...VIEWS, ...HIDDEN_VIEWS].find(([route]) => route === name)?.[1];
}

function time(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return when.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

function money(m) {
  if (!m) return "";
  return `${m.amount} ${m.currency}`;
}

// -- the shell's own parts -----------------------------------------------------------------------------------

function banner(message) {
  const slot = document.getElementById("banner");
  if (!slot) return;
  clear(slot);
  if (!message) return;
  slot.append(
    h(
      "div",
      { class: "banner", role: "alert", testid: "error-banner" },
      h("span", {}, message),
      h(
        "button",
        { type: "button", class: "link", onclick: () => banner(null), testid: "dismiss-error" },
        t("dismiss"),
      ),
    ),
  );
}

function notify(message, kind = "ok") {
  const line = document.getElementById("status-message");
  if (!line) return;
  line.textContent = message;
  line.className = `status-line ${kind}`;
  if (kind === "error") banner(message);
}

function fail(err) {
  if (err instanceof ApiError && err.status === 401) return;
  const reason = err instanceof ApiError ? describe(err) : err?.message || String(err);
  banner(t("failed", { reason }));
}

async function refreshTabs() {
  const strip = document.getElementById("tabs");
  if (!strip || !state.session?.signedIn) return;
  try {
    const answer = await state.api("GET", "/tabs");
    state.tabs = answer.tabs;
  } catch (err) {
    fail(err);
    return;
  }
  drawTabs();
}

function drawTabs() {
  const strip = document.getElementById("tabs");
  if (!strip) return;
  const current = routeOf(location.hash);
  const active = current.name === "orders" ? current.params[0] || "pending_review" : null;
  clear(strip);
  for (const tab of state.tabs) {
    const selected = tab.status === active;
    strip.append(
      h(
        "li",
        {},
        h(
          "a",
          {
            href: `#/orders/${tab.status}`,
            class: selected ? "tab active" : "tab",
            "aria-current": selected ? "page" : null,
            testid: `tab-${tab.status}`,
          },
          h("span", { class: "tab-name" }, statusLabel(state.lang, tab.status)),
          " ",
          h(
            "span",
            { class: tab.count ? "count" : "count zero", testid: `tab-count-${tab.status}` },
            String(tab.count),
          ),
        ),
      ),
    );
  }
}

function drawNav() {
  const nav = document.getElementById("nav-links");
  if (!nav) return;
  const current = routeOf(location.hash).name;
  clear(nav);
  for (const [route] of VIEWS) {
    const here = current === route || (route === "orders" && (current === "order" || current === "search"));
    nav.append(
      h(
        "li",
        {},
        h(
          "a",
          {
            href: route === "orders" ? DEFAULT_ROUTE : `#/${route}`,
            "aria-current": here ? "page" : null,
            class: here ? "active" : null,
            testid: `nav-${route}`,
          },
          NAV[route][state.lang],
        ),
      ),
    );
  }
}

function searchForm() {
  const id = uid("search");
  const current = routeOf(location.hash);
  const box = h("input", {
    id,
    type: "search",
    name: "q",
    maxlength: "200",
    value: current.name === "search" ? current.query.get("q") || "" : "",
    placeholder: state.lang === "zh" ? "订单号 / 运单号 / 买家" : "order, tracking no. or buyer",
    testid: "search-box",
  });
  return h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        const q = box.value.trim();
        if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
      },
    },
    h("label", { for: id, class: "visually-hidden" }, state.lang === "zh" ? "搜索订单" : "Search orders"),
    box,
    h("button", { type: "submit", testid: "search-submit" }, state.lang === "zh" ? "搜索" : "Search"),
  );
}

// The language select, in the header and on the sign-in page; `redraw` draws the page again in it.
function languageSelect(redraw) {
  const id = uid("language");
  const select = h(
    "select",
    {
      id,
      testid: "language",
      onchange: () => {
        state.lang = select.value;
        saveLanguage(state.lang);
        document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
        redraw();
      },
    },
    Object.entries(LANGUAGES).map(([code, name]) =>
      h("option", { value: code, selected: code === state.lang }, name),
    ),
  );
  return [h("label", { for: id }, t("language")), " ", select];
}

function drawShell() {
  const app = document.getElementById("app");
  clear(app);
  document.title = t("app_title");
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  app.append(
    h("a", { href: "#main", class: "skip-link" }, state.lang === "zh" ? "跳到内容" : "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("h1", {}, t("app_title")),
      searchForm(),
      h(
        "div",
        { class: "who" },
        h("span", { testid: "signed-in-as" }, t("signed_in_as", { name: state.session.userName })),
        h("span", { class: "language" }, languageSelect(drawShell)),
        h(
          "button",
          {
            type: "button",
            testid: "sign-out",
            onclick: async () => {
              await state.session.signOut();
              showSignIn();
            },
          },
          t("sign_out"),
        ),
      ),
    ),
    h("nav", { "aria-label": t("nav_label") }, h("ul", { id: "nav-links", class: "nav" })),
    h("nav", { "aria-label": t("tabs_label") }, h("ul", { id: "tabs", class: "tabs" })),
    h("div", { id: "banner" }),
    h("p", {
      id: "status-message",
      class: "status-line",
      role: "status",
      "aria-live": "polite",
      testid: "status-message",
    }),
    h("main", { id: "main", tabindex: "-1" }),
  );
  drawNav();
  drawTabs();
  render();
}

// -- the router --------------------------------------------------------------------------------------------

async function render() {
  const main = document.getElementById("main");
  if (!main || !state.session?.signedIn) return;
  const route = routeOf(location.hash);
  if (!route.name) {
    location.replace(DEFAULT_ROUTE);
    return;
  }
  const serial = ++state.renderSerial;
  drawNav();
  drawTabs();
  // Opening a list is when its count matters: the counts are fetched again then, not only on the timer.
  if (route.name === "orders" || route.name === "search") refreshTabs();
  banner(null);
  const root = h(
    "section",
    { testid: "view", "aria-busy": "true" },
    h("p", { class: "muted" }, t("loading")),
  );
  clear(main);
  main.append(root);
  const load = loaderFor(route.name);
  try {
    if (!load) throw new Error(t("not_found", { path: location.hash }));
    const view = (await load()).default;
    if (serial !== state.renderSerial) return; // the operator has moved on
    const params = Object.assign([...route.params], { query: route.query, route: route.name });
    clear(root);
    await view.render(root, contextFor(view, serial), params);
  } catch (err) {
    if (serial !== state.renderSerial) return;
    clear(root);
    fail(err);
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function contextFor(view, serial) {
  return {
    api: state.api,
    h,
    uid,
    lang: state.lang,
    t: translator(state.lang, view.strings),
    statusLabel: (status) => statusLabel(state.lang, status),
    time,
    money,
    notify,
    fail,
    navigate: (hash) => {
      location.hash = hash;
    },
    rerender: () => {
      if (serial === state.renderSerial) render();
    },
    current: () => serial === state.renderSerial,
    refreshTabs,
    orderLink: (orderId) =>
      h("a", { href: `#/order/${encodeURIComponent(orderId)}`, testid: `order-link-${orderId}` }, orderId),
  };
}

// -- sign-in -----------------------------------------------------------------------------------------------

function field(label, attrs) {
  const id = uid(attrs.testid);
  const input = h("input", { id, ...attrs });
  return [h("label", { for: id }, label), input];
}

function showSignIn(message) {
  clearInterval(state.tabsTimer);
  const app = document.getElementById("app");
  clear(app);
  document.title = t("app_title");
  const error = h("p", { class: "error", role: "alert", testid: "sign-in-error" }, message || "");
  const [userLabel, user] = field(t("user_name"), {
    name: "username",
    autocomplete: "username",
    required: true,
    testid: "username",
  });
  const [passwordLabel, password] = field(t("password"), {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    testid: "password",
  });
  const button = h("button", { type: "submit", class: "primary", testid: "sign-in" }, t("sign_in"));
  const form = h(
    "form",
    {
      class: "card sign-in form-grid",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        error.textContent = t("signing_in");
        try {
          const outcome = await state.session.signIn(user.value.trim(), password.value);
          if (outcome === "new-password") showNewPassword();
          else startSignedIn();
        } catch (err) {
          error.textContent = t("sign_in_failed", { reason: err.message });
          button.disabled = false;
        }
      },
    },
    userLabel,
    user,
    passwordLabel,
    password,
    h("div", { class: "actions" }, button),
  );
  app.append(
    h(
      "main",
      { id: "main", class: "sign-in-page" },
      h("h1", {}, t("app_title")),
      h("h2", {}, t("sign_in_title")),
      h(
        "div",
        { class: "language-corner" },
        languageSelect(() => showSignIn()),
      ),
      form,
      error,
    ),
  );
  user.focus();
}

function showNewPassword() {
  const app = document.getElementById("app");
  clear(app);
  const error = h("p", { class: "error", role: "alert", testid: "sign-in-error" });
  const [label, input] = field(t("new_password"), {
    type: "password",
    autocomplete: "new-password",
    minlength: "12",
    required: true,
    testid: "new-password",
  });
  const button = h("button", { type: "submit", class: "primary", testid: "set-password" }, t("set_password"));
  app.append(
    h(
      "main",
      { id: "main", class: "sign-in-page" },
      h("h1", {}, t("app_title")),
      h("h2", {}, t("new_password_title")),
      h(
        "form",
        {
          class: "card sign-in form-grid",
          onsubmit: async (event) => {
            event.preventDefault();
            button.disabled = true;
            try {
              await state.session.setNewPassword(input.value);
              startSignedIn();
            } catch (err) {
              error.textContent = t("sign_in_failed", { reason: err.message });
              button.disabled = false;
            }
          },
        },
        label,
        input,
        h("div", { class: "actions" }, button),
      ),
      error,
    ),
  );
  input.focus();
}

function startSignedIn() {
  if (!location.hash || location.hash === "#" || location.hash === "#/")
    history.replaceState(null, "", DEFAULT_ROUTE);
  drawShell();
  refreshTabs();
  clearInterval(state.tabsTimer);
  state.tabsTimer = setInterval(() => {
    if (document.visibilityState === "visible") refreshTabs();
  }, TABS_EVERY_MS);
}

// -- boot --------------------------------------------------------------------------------------------------

async function boot() {
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch (err) {
    const app = document.getElementById("app");
    clear(app);
    app.append(
      h(
        "main",
        { id: "main" },
        h(
          "p",
          { class: "error", role: "alert", testid: "error-banner" },
          t("config_missing", { reason: err.message }),
        ),
      ),
    );
    return;
  }
  state.config = config;
  state.session = new Session(config, () => showSignIn(t("session_expired")));
  state.api = makeApi(config.apiBase, state.session);
  window.addEventListener("hashchange", () => {
    if (state.session.signedIn) render();
  });
  if (state.session.signedIn) startSignedIn();
  else showSignIn();
}

boot();
