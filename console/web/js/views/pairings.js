import { uid } from "../dom.js";

// 商品配对: the platform SKUs that orders wait on (the 未配对 tab, grouped by SKU, with how many orders
// each holds up), a form to pair each to warehouse SKUs (one for a plain listing, several for a bundle),
// and every pairing there is. A pairing saved sends the orders waiting on it on by themselves.

const MATCH_KINDS = ["exact", "case_insensitive", "strip_prefix", "strip_suffix"];
const RULE_KINDS = new Set(["strip_prefix", "strip_suffix"]);
const MARKETPLACES = ["amazon", "aliexpress"];
const SCOPES = ["store", "marketplace", "all"];
const PAGE_SIZE = 100; // the API's largest page
const MAX_PAGES = 20; // 2,000 waiting orders: more than that, the page says so rather than read on
const LINKS_SHOWN = 5; // order links per unpaired SKU; the rest are counted

const strings = {
  zh: {
    title: "商品配对",
    intro: "订单里的平台SKU配对到仓库SKU后，等待配对的订单会自动继续处理。",
    unpaired_title: "未配对的平台SKU",
    unpaired_caption: "未配对的平台SKU（{skus} 个SKU，{orders} 个订单等待）",
    unpaired_empty: "没有等待配对的订单",
    unpaired_more: "等待配对的订单超过 {n} 个，只显示了前 {n} 个",
    platform_sku: "平台SKU",
    waiting_orders: "等待的订单",
    orders_waiting: "{n} 个订单",
    and_more: "等 {n} 个",
    stores: "店铺",
    actions: "操作",
    pair: "配对",
    pair_sku: "配对 {sku}",
    close_form: "收起",
    pair_form_label: "配对 {sku}",
    new_title: "添加或修改配对",
    new_intro: "同一范围内同一平台SKU的配对会被替换。前缀/后缀规则去掉前缀或后缀后，按剩下的SKU配对。",
    new_form_label: "添加或修改配对",
    scope: "适用范围",
    scope_store: "指定店铺",
    scope_marketplace: "指定平台",
    scope_all: "全部店铺",
    store_field: "店铺",
    marketplace_field: "平台",
    match: "匹配方式",
    match_exact: "完全一致",
    match_case_insensitive: "忽略大小写",
    match_strip_prefix: "去掉前缀（规则）",
    match_strip_suffix: "去掉后缀（规则）",
    prefix: "前缀",
    suffix: "后缀",
    components: "仓库商品（组合商品可添加多个）",
    component_sku: "仓库SKU（第 {n} 个）",
    component_quantity: "数量（第 {n} 个）",
    remove_component: "删除第 {n} 个",
    add_component: "添加商品",
    rule_has_no_components: "规则不需要仓库商品：去掉前缀/后缀后剩下的SKU的配对决定发什么货。",
    save: "保存配对",
    saving: "正在保存…",
    saved_resumed: "已保存配对 {sku}：{n} 个订单继续处理（{orders}）",
    saved_none: "已保存配对 {sku}：没有等待这个配对的订单",
    pairings_title: "全部配对",
    pairings_caption: "全部配对（{n} 条）",
    pairings_empty: "还没有配对",
    components_col: "仓库商品",
    edit: "修改",
    edit_pairing: "修改配对 {sku}",
    in_store: "店铺 {store}",
    in_marketplace: "平台：{marketplace}",
    everywhere: "全部店铺",
    amazon: "亚马逊",
    aliexpress: "速卖通",
    times: "{sku} × {n}",
    rule: "规则",
    no_store: "请选择店铺",
  },
  en: {
    title: "SKU pairing",
    intro:
      "Once an order's platform SKUs are paired to warehouse SKUs, the orders waiting on them go on by themselves.",
    unpaired_title: "Unpaired platform SKUs",
    unpaired_caption: "Unpaired platform SKUs ({skus} SKUs, {orders} orders waiting)",
    unpaired_empty: "No order is waiting for a pairing",
    unpaired_more: "More than {n} orders wait for a pairing: only the first {n} are shown",
    platform_sku: "Platform SKU",
    waiting_orders: "Orders waiting",
    orders_waiting: "{n} orders",
    and_more: "and {n} more",
    stores: "Stores",
    actions: "Actions",
    pair: "Pair",
    pair_sku: "Pair {sku}",
    close_form: "Close",
    pair_form_label: "Pair {sku}",
    new_title: "Add or change a pairing",
    new_intro:
      "A pairing of the same platform SKU in the same scope is replaced. A prefix or suffix rule pairs what is left once the affix is removed.",
    new_form_label: "Add or change a pairing",
    scope: "Applies to",
    scope_store: "One store",
    scope_marketplace: "One marketplace",
    scope_all: "All stores",
    store_field: "Store",
    marketplace_field: "Marketplace",
    match: "Match",
    match_exact: "Exact",
    match_case_insensitive: "Ignoring case",
    match_strip_prefix: "Strip a prefix (rule)",
    match_strip_suffix: "Strip a suffix (rule)",
    prefix: "Prefix",
    suffix: "Suffix",
    components: "Warehouse items (a bundle has several)",
    component_sku: "Warehouse SKU (no. {n})",
    component_quantity: "Quantity (no. {n})",
    remove_component: "Remove no. {n}",
    add_component: "Add an item",
    rule_has_no_components:
      "A rule has no warehouse items: the pairing of what is left once stripped gives them.",
    save: "Save pairing",
    saving: "Saving…",
    saved_resumed: "Pairing {sku} saved: {n} orders went on ({orders})",
    saved_none: "Pairing {sku} saved: no order was waiting for it",
    pairings_title: "Every pairing",
    pairings_caption: "Every pairing ({n})",
    pairings_empty: "No pairing yet",
    components_col: "Warehouse items",
    edit: "Change",
    edit_pairing: "Change pairing {sku}",
    in_store: "Store {store}",
    in_marketplace: "Marketplace: {marketplace}",
    everywhere: "All stores",
    amazon: "Amazon",
    aliexpress: "AliExpress",
    times: "{sku} × {n}",
    rule: "rule",
    no_store: "Choose a store",
  },
};

// -- data ----------------------------------------------------------------------------------------------

async function waitingOrders(ctx) {
  const orders = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ status: "needs_pairing", limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    const answer = await ctx.api("GET", `/orders?${query}`);
    orders.push(...answer.orders);
    cursor = answer.next_cursor;
    if (!cursor) return { orders, more: false };
  }
  return { orders, more: true };
}

// One entry per platform SKU waited on: the orders, their stores and marketplaces; most orders first.
function groupBySku(orders) {
  const groups = new Map();
  for (const order of orders) {
    for (const sku of new Set(order.waiting_for || [])) {
      let group = groups.get(sku);
      if (!group) {
        group = { sku, orders: [], stores: new Set(), marketplaces: new Set() };
        groups.set(sku, group);
      }
      group.orders.push(order.order_id);
      group.stores.add(order.store_id);
      group.marketplaces.add(order.marketplace);
    }
  }
  return [...groups.values()].sort((a, b) => b.orders.length - a.orders.length || a.sku.localeCompare(b.sku));
}

async function optional(promise, fallback) {
  try {
    return await promise;
  } catch {
    return fallback; // the datalist and the store names help; the page works without them
  }
}

// -- the form ------------------------------------------------------------------------------------------

// A pairing form. `prefill`: {sku, scope, store, marketplace, match, components}. Returns the <form>
// and `fill(prefill)` to load another pairing into it.
function pairingForm(ctx, { testid, label, stores, skuListId, prefill }) {
  const { h, t } = ctx;
  const field = (key, control, text) => {
    control.id = uid(key);
    return [h("label", { for: control.id }, text), control];
  };

  const platform = h("input", {
    type: "text",
    required: true,
    maxlength: "100",
    autocomplete: "off",
    spellcheck: "false",
    testid: "pair-platform-sku",
  });
  const [platformLabel] = field("platform-sku", platform, t("platform_sku"));

  const scope = h(
    "select",
    { testid: "pair-scope", onchange: () => showScope() },
    SCOPES.map((s) => h("option", { value: s }, t(`scope_${s}`))),
  );
  const store = h(
    "select",
    { testid: "pair-store" },
    stores.map((s) =>
      h(
        "option",
        { value: s.store_id },
        s.name && s.name !== s.store_id ? `${s.name} (${s.store_id})` : s.store_id,
      ),
    ),
  );
  const marketplace = h(
    "select",
    { testid: "pair-marketplace" },
    MARKETPLACES.map((m) => h("option", { value: m }, t(m))),
  );
  const match = h(
    "select",
    { testid: "pair-match", onchange: () => showMatch() },
    MATCH_KINDS.map((m) => h("option", { value: m }, t(`match_${m}`))),
  );
  const scopeRow = field("scope", scope, t("scope"));
  const storeRow = field("store", store, t("store_field"));
  const marketplaceRow = field("marketplace", marketplace, t("marketplace_field"));
  const matchRow = field("match", match, t("match"));

  const list = h("div", { testid: "pair-components" });
  const addButton = h(
    "button",
    { type: "button", testid: "component-add", onclick: () => addComponent({}, true) },
    t("add_component"),
  );
  const ruleNote = h(
    "p",
    { class: "muted", testid: "pair-rule-note", hidden: true },
    t("rule_has_no_components"),
  );
  const components = h(
    "fieldset",
    { class: "card", testid: "pair-components-fieldset" },
    h("legend", {}, t("components")),
    list,
    h("div", { class: "actions" }, addButton),
  );

  function renumber() {
    const rows = [...list.children];
    rows.forEach((row, i) => {
      const n = i + 1;
      const [skuLabel, skuInput, qtyLabel, qtyInput, remove] = row.parts;
      skuLabel.textContent = t("component_sku", { n });
      qtyLabel.textContent = t("component_quantity", { n });
      remove.textContent = t("remove_component", { n });
      skuInput.dataset.testid = `component-sku-${i}`;
      qtyInput.dataset.testid = `component-quantity-${i}`;
      remove.dataset.testid = `component-remove-${i}`;
      remove.disabled = rows.length === 1;
    });
  }

  function addComponent({ warehouse_sku = "", quantity = 1 }, focus = false) {
    const skuInput = h("input", {
      type: "text",
      required: true,
      maxlength: "100",
      autocomplete: "off",
      spellcheck: "false",
      list: skuListId,
      value: warehouse_sku,
    });
    const qtyInput = h("input", {
      type: "number",
      required: true,
      min: "1",
      max: "10000",
      step: "1",
      inputmode: "numeric",
      value: String(quantity),
    });
    skuInput.id = uid("component-sku");
    qtyInput.id = uid("component-quantity");
    const skuLabel = h("label", { for: skuInput.id });
    const qtyLabel = h("label", { for: qtyInput.id });
    const row = h("div", { class: "toolbar component" });
    const remove = h("button", {
      type: "button",
      onclick: () => {
        if (list.children.length > 1) {
          row.remove();
          renumber();
        }
      },
    });
    row.append(skuLabel, skuInput, qtyLabel, qtyInput, remove);
    row.parts = [skuLabel, skuInput, qtyLabel, qtyInput, remove];
    list.append(row);
    renumber();
    if (focus) skuInput.focus();
  }

  function showScope() {
    const which = scope.value;
    for (const el of storeRow) el.hidden = which !== "store";
    for (const el of marketplaceRow) el.hidden = which !== "marketplace";
  }

  function showMatch() {
    const rule = RULE_KINDS.has(match.value);
    components.hidden = rule;
    ruleNote.hidden = !rule;
    for (const row of list.children)
      for (const input of row.querySelectorAll("input")) input.required = !rule;
    platformLabel.textContent =
      match.value === "strip_prefix"
        ? t("prefix")
        : match.value === "strip_suffix"
          ? t("suffix")
          : t("platform_sku");
  }

  function fill(values = {}) {
    platform.value = values.sku || "";
    scope.value = values.scope || "all";
    if (values.store && ![...store.options].some((o) => o.value === values.store)) {
      store.append(h("option", { value: values.store }, values.store));
    }
    if (values.store) store.value = values.store;
    if (values.marketplace) marketplace.value = values.marketplace;
    match.value = values.match || "exact";
    while (list.firstChild) list.firstChild.remove();
    const given = values.components?.length ? values.components : [{}];
    for (const component of given) addComponent(component);
    showScope();
    showMatch();
  }

  const submit = h("button", { type: "submit", class: "primary", testid: "pair-submit" }, t("save"));
  const form = h(
    "form",
    {
      "aria-label": label,
      testid,
      onsubmit: async (event) => {
        event.preventDefault();
        const sku = platform.value.trim();
        const rule = RULE_KINDS.has(match.value);
        const body = {
          platform_sku: sku,
          match: match.value,
          components: rule
            ? []
            : [...list.children].map((row) => ({
                warehouse_sku: row.parts[1].value.trim(),
                quantity: Number.parseInt(row.parts[3].value, 10),
              })),
        };
        if (scope.value === "store") {
          if (!store.value) {
            ctx.notify(t("no_store"), "error");
            store.focus();
            return;
          }
          body.store = store.value;
        }
        if (scope.value === "marketplace") body.marketplace = marketplace.value;
        submit.disabled = true;
        submit.textContent = t("saving");
        try {
          const answer = await ctx.api("POST", "/pairings", body);
          const resumed = answer.resumed || [];
          ctx.notify(
            resumed.length
              ? t("saved_resumed", { sku, n: resumed.length, orders: resumed.join(", ") })
              : t("saved_none", { sku }),
          );
          ctx.refreshTabs();
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          submit.disabled = false;
          submit.textContent = t("save");
        }
      },
    },
    h("div", { class: "form-grid" }, platformLabel, platform, scopeRow, storeRow, marketplaceRow, matchRow),
    ruleNote,
    components,
    h("div", { class: "actions" }, submit),
  );
  fill(prefill);
  return { form, fill, focus: () => (platform.value ? list.querySelector("input") : platform)?.focus() };
}

// What the form should start with for a SKU the orders wait on: their store when they are all of one,
// their marketplace when they are all of one, else every store.
function prefillFor(group) {
  if (group.stores.size === 1) return { sku: group.sku, scope: "store", store: [...group.stores][0] };
  if (group.marketplaces.size === 1) {
    return { sku: group.sku, scope: "marketplace", marketplace: [...group.marketplaces][0] };
  }
  return { sku: group.sku, scope: "all" };
}

// -- the tables ----------------------------------------------------------------------------------------

function unpairedTable(ctx, groups, total, formFor) {
  const { h, t } = ctx;
  const columns = 4;
  const body = h("tbody");
  for (const group of groups) {
    const formRow = h("tr", { hidden: true, testid: `pair-row-${group.sku}` });
    const formCell = h("td", { colspan: String(columns) });
    formRow.id = uid("pair-row");
    formRow.append(formCell);
    let built = null;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "primary",
        "aria-expanded": "false",
        "aria-controls": formRow.id,
        "aria-label": t("pair_sku", { sku: group.sku }),
        testid: `pair-${group.sku}`,
        onclick: () => {
          const open = formRow.hidden;
          if (open && !built) {
            built = formFor(group);
            formCell.append(built.form);
          }
          formRow.hidden = !open;
          toggle.setAttribute("aria-expanded", String(open));
          toggle.textContent = open ? t("close_form") : t("pair");
          if (open) built.focus();
        },
      },
      t("pair"),
    );
    const shown = group.orders.slice(0, LINKS_SHOWN);
    const rest = group.orders.length - shown.length;
    body.append(
      h(
        "tr",
        { testid: `unpaired-${group.sku}` },
        h("th", { scope: "row" }, h("code", {}, group.sku)),
        h(
          "td",
          {},
          h(
            "strong",
            { testid: `unpaired-count-${group.sku}` },
            t("orders_waiting", { n: group.orders.length }),
          ),
          " ",
          shown.map((id, i) => [i ? ", " : "", ctx.orderLink(id)]),
          rest > 0 ? ` ${t("and_more", { n: rest })}` : null,
        ),
        h("td", {}, [...group.stores].sort().join(", ")),
        h("td", {}, toggle),
      ),
      formRow,
    );
  }
  return h(
    "table",
    { class: "table", testid: "unpaired-table" },
    h("caption", {}, t("unpaired_caption", { skus: groups.length, orders: total })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("platform_sku")),
        h("th", { scope: "col" }, t("waiting_orders")),
        h("th", { scope: "col" }, t("stores")),
        h("th", { scope: "col" }, t("actions")),
      ),
    ),
    body,
  );
}

function scopeText(ctx, scope, storeNames) {
  if (scope.store_id) {
    const name = storeNames.get(scope.store_id);
    return ctx.t("in_store", {
      store: name && name !== scope.store_id ? `${name} (${scope.store_id})` : scope.store_id,
    });
  }
  if (scope.marketplace) return ctx.t("in_marketplace", { marketplace: ctx.t(scope.marketplace) });
  return ctx.t("everywhere");
}

function scopeRank(scope) {
  return scope.store_id ? 0 : scope.marketplace ? 1 : 2;
}

function scopeId(scope) {
  return scope.store_id || scope.marketplace || "all";
}

function pairingsTable(ctx, pairings, storeNames, onEdit) {
  const { h, t } = ctx;
  if (!pairings.length) return h("p", { class: "empty", testid: "pairings-empty" }, t("pairings_empty"));
  const sorted = [...pairings].sort(
    (a, b) =>
      scopeRank(a.scope) - scopeRank(b.scope) ||
      scopeId(a.scope).localeCompare(scopeId(b.scope)) ||
      a.match.value.localeCompare(b.match.value) ||
      a.match.kind.localeCompare(b.match.kind),
  );
  return h(
    "table",
    { class: "table", testid: "pairings-table" },
    h("caption", {}, t("pairings_caption", { n: pairings.length })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("platform_sku")),
        h("th", { scope: "col" }, t("match")),
        h("th", { scope: "col" }, t("scope")),
        h("th", { scope: "col" }, t("components_col")),
        h("th", { scope: "col" }, t("actions")),
      ),
    ),
    h(
      "tbody",
      {},
      sorted.map((p) => {
        const rule = RULE_KINDS.has(p.match.kind);
        return h(
          "tr",
          { testid: `pairing-${scopeId(p.scope)}-${p.match.value}` },
          h("th", { scope: "row" }, h("code", {}, p.match.value)),
          h("td", {}, t(`match_${p.match.kind}`)),
          h("td", {}, scopeText(ctx, p.scope, storeNames)),
          h(
            "td",
            { testid: `pairing-components-${scopeId(p.scope)}-${p.match.value}` },
            rule
              ? h("span", { class: "badge" }, t("rule"))
              : (p.components || []).map((c, i) => [
                  i ? ", " : "",
                  t("times", { sku: c.warehouse_sku, n: c.quantity }),
                ]),
          ),
          h(
            "td",
            {},
            h(
              "button",
              {
                type: "button",
                "aria-label": t("edit_pairing", { sku: p.match.value }),
                testid: `edit-pairing-${scopeId(p.scope)}-${p.match.value}`,
                onclick: () => onEdit(p),
              },
              t("edit"),
            ),
          ),
        );
      }),
    ),
  );
}

// -- the view ------------------------------------------------------------------------------------------

async function render(root, ctx) {
  const { h, t } = ctx;
  const [waiting, listed, products, storeList] = await Promise.all([
    waitingOrders(ctx),
    ctx.api("GET", "/pairings"),
    optional(ctx.api("GET", "/products"), { products: [] }),
    optional(ctx.api("GET", "/stores"), { stores: [] }),
  ]);
  if (ctx.current && !ctx.current()) return; // the operator has moved on

  const groups = groupBySku(waiting.orders);
  const stores = [...(storeList.stores || [])];
  for (const order of waiting.orders) {
    if (!stores.some((s) => s.store_id === order.store_id))
      stores.push({ store_id: order.store_id, name: order.store_id });
  }
  stores.sort((a, b) => a.store_id.localeCompare(b.store_id));
  const storeNames = new Map(stores.map((s) => [s.store_id, s.name]));

  const skuListId = uid("warehouse-skus");
  const datalist = h(
    "datalist",
    { id: skuListId, testid: "warehouse-skus" },
    (products.products || []).map((p) =>
      h("option", { value: p.sku }, `${p.sku} · ${ctx.lang === "zh" ? p.name_zh : p.name_en}`),
    ),
  );

  const formFor = (group) =>
    pairingForm(ctx, {
      testid: `pair-form-${group.sku}`,
      label: t("pair_form_label", { sku: group.sku }),
      stores,
      skuListId,
      prefill: prefillFor(group),
    });

  const general = pairingForm(ctx, {
    testid: "pairing-form",
    label: t("new_form_label"),
    stores,
    skuListId,
    prefill: {},
  });
  const generalHeadingId = uid("new");
  const generalCard = h(
    "section",
    { class: "card", "aria-labelledby": generalHeadingId, testid: "new-pairing" },
    h("h3", { id: generalHeadingId }, t("new_title")),
    h("p", { class: "muted" }, t("new_intro")),
    general.form,
  );

  const onEdit = (p) => {
    general.fill({
      sku: p.match.value,
      scope: p.scope.store_id ? "store" : p.scope.marketplace ? "marketplace" : "all",
      store: p.scope.store_id || undefined,
      marketplace: p.scope.marketplace || undefined,
      match: p.match.kind,
      components: p.components,
    });
    generalCard.scrollIntoView({ block: "start" });
    general.focus();
  };

  const unpairedHeadingId = uid("unpaired");
  const pairingsHeadingId = uid("pairings");
  root.append(
    h("h2", { testid: "view-title" }, t("title")),
    h("p", { class: "muted" }, t("intro")),
    datalist,
    h(
      "section",
      { "aria-labelledby": unpairedHeadingId, testid: "unpaired" },
      h("h3", { id: unpairedHeadingId }, t("unpaired_title")),
      waiting.more
        ? h(
            "p",
            { class: "muted", testid: "unpaired-more" },
            t("unpaired_more", { n: waiting.orders.length }),
          )
        : null,
      groups.length
        ? unpairedTable(ctx, groups, waiting.orders.length, formFor)
        : h("p", { class: "empty", testid: "unpaired-empty" }, t("unpaired_empty")),
    ),
    generalCard,
    h(
      "section",
      { "aria-labelledby": pairingsHeadingId, testid: "pairings" },
      h("h3", { id: pairingsHeadingId }, t("pairings_title")),
      pairingsTable(ctx, listed.pairings || [], storeNames, onEdit),
    ),
  );
}

export default {
  route: "pairings",
  nav: { zh: "商品配对", en: "Pairing" },
  strings,
  render,
};
