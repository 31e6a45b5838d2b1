import { uid } from "../dom.js";

// 库存: every SKU's on hand, reserved and available, marked when it is at or under its reorder point;
// per SKU its reorder point, goods in (入库: the orders waiting for the SKU get it first) and its
// movements (库存流水); then the purchase list (采购建议): what to buy, most needed first.

const MOVEMENTS_SHOWN = 50;
const KINDS = ["received", "reserved", "released", "deducted", "adjusted"];

const strings = {
  zh: {
    title: "库存",
    intro: "可用 = 在库 − 已预留。可用数量不高于补货点时标记为低库存，并出现在采购建议里。",
    low_only: "只看低库存",
    refresh: "刷新",
    receive_title: "入库",
    receive_form: "入库单",
    receive_sku: "仓库SKU",
    receive_quantity: "入库数量",
    receive_why: "备注（写入库存流水）",
    receive_why_default: "采购入库",
    receive_submit: "确认入库",
    receiving: "正在入库…",
    received: "{sku} 已入库 {quantity} 件，现在在库 {on_hand}、可用 {available}",
    received_resumed:
      "{sku} 已入库 {quantity} 件，现在在库 {on_hand}、可用 {available}；{n} 个缺货订单继续处理（{orders}）",
    levels_title: "库存",
    levels_caption: "库存（{n} 个SKU）",
    low_caption: "低库存（{n} 个SKU）",
    levels_empty: "没有库存记录",
    low_empty: "没有低库存的SKU",
    name: "商品名称",
    on_hand: "在库",
    reserved: "已预留",
    available: "可用",
    reorder_point: "补货点",
    state: "状态",
    actions: "操作",
    low: "低库存",
    enough: "正常",
    reorder_for: "{sku} 的补货点",
    set_reorder: "设置",
    set_reorder_for: "设置 {sku} 的补货点",
    reorder_saved: "{sku} 的补货点已设为 {n}",
    reorder_saving: "正在保存…",
    receive_for: "入库",
    receive_for_sku: "{sku} 入库",
    movements: "库存流水",
    movements_for: "{sku} 的库存流水",
    hide_movements: "收起流水",
    movements_caption: "{sku} 的库存流水（最近 {n} 条）",
    movements_empty: "{sku} 还没有库存流水",
    kind: "类型",
    on_hand_delta: "在库变化",
    reserved_delta: "预留变化",
    why: "原因",
    kind_received: "入库",
    kind_reserved: "预留",
    kind_released: "释放",
    kind_deducted: "出库",
    kind_adjusted: "盘点调整",
    purchase_title: "采购建议",
    purchase_caption: "采购建议（{n} 个SKU）",
    purchase_empty: "暂无需要采购的SKU",
    waiting_demand: "缺货订单需求",
    sold_7: "近7天出库",
    sold_30: "近30天出库",
    to_buy: "建议采购",
  },
  en: {
    title: "Stock",
    intro:
      "Available = on hand − reserved. A SKU whose available is at or under its reorder point is marked low and is on the purchase list.",
    low_only: "Low stock only",
    refresh: "Refresh",
    receive_title: "Goods in",
    receive_form: "Goods in",
    receive_sku: "Warehouse SKU",
    receive_quantity: "Quantity received",
    receive_why: "Note (kept with the movement)",
    receive_why_default: "goods received",
    receive_submit: "Receive",
    receiving: "Receiving…",
    received: "{sku}: {quantity} received, now {on_hand} on hand, {available} available",
    received_resumed:
      "{sku}: {quantity} received, now {on_hand} on hand, {available} available; {n} orders out of stock went on ({orders})",
    levels_title: "Stock levels",
    levels_caption: "Stock ({n} SKUs)",
    low_caption: "Low stock ({n} SKUs)",
    levels_empty: "No stock yet",
    low_empty: "No SKU is low",
    name: "Name",
    on_hand: "On hand",
    reserved: "Reserved",
    available: "Available",
    reorder_point: "Reorder point",
    state: "State",
    actions: "Actions",
    low: "Low",
    enough: "OK",
    reorder_for: "Reorder point of {sku}",
    set_reorder: "Set",
    set_reorder_for: "Set the reorder point of {sku}",
    reorder_saved: "The reorder point of {sku} is now {n}",
    reorder_saving: "Saving…",
    receive_for: "Goods in",
    receive_for_sku: "Goods in of {sku}",
    movements: "Movements",
    movements_for: "Movements of {sku}",
    hide_movements: "Hide movements",
    movements_caption: "Movements of {sku} (the latest {n})",
    movements_empty: "{sku} has no movement yet",
    kind: "Kind",
    on_hand_delta: "On hand change",
    reserved_delta: "Reserved change",
    why: "Why",
    kind_received: "Received",
    kind_reserved: "Reserved",
    kind_released: "Released",
    kind_deducted: "Shipped out",
    kind_adjusted: "Count adjusted",
    purchase_title: "Purchase list",
    purchase_caption: "Purchase list ({n} SKUs)",
    purchase_empty: "Nothing to buy",
    waiting_demand: "Wanted by waiting orders",
    sold_7: "Out, last 7 days",
    sold_30: "Out, last 30 days",
    to_buy: "To buy",
  },
};

const available = (level) => level.on_hand - level.reserved;
const signed = (n) => (n > 0 ? `+${n}` : String(n));

function th(ctx, key, num = false) {
  return ctx.h("th", { scope: "col", class: num ? "num" : null }, ctx.t(key));
}

async function optional(promise, fallback) {
  try {
    return await promise;
  } catch {
    return fallback; // product names and the SKU list help; the page works without them
  }
}

// -- goods in ------------------------------------------------------------------------------------------

function receiveForm(ctx, skuListId) {
  const { h, t } = ctx;
  const sku = h("input", {
    type: "text",
    required: true,
    maxlength: "100",
    autocomplete: "off",
    spellcheck: "false",
    list: skuListId,
    testid: "receive-sku",
  });
  const quantity = h("input", {
    type: "number",
    required: true,
    min: "1",
    max: "1000000",
    step: "1",
    inputmode: "numeric",
    testid: "receive-quantity",
  });
  const why = h("input", {
    type: "text",
    maxlength: "500",
    placeholder: t("receive_why_default"),
    testid: "receive-why",
  });
  for (const [key, el] of [
    ["sku", sku],
    ["quantity", quantity],
    ["why", why],
  ])
    el.id = uid(`receive-${key}`);
  const submit = h(
    "button",
    { type: "submit", class: "primary", testid: "receive-submit" },
    t("receive_submit"),
  );
  const headingId = uid("receive-title");
  const form = h(
    "form",
    {
      class: "form-grid",
      "aria-labelledby": headingId,
      testid: "receive-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {
          sku: sku.value.trim(),
          quantity: Number.parseInt(quantity.value, 10),
          why: why.value.trim() || t("receive_why_default"),
        };
        submit.disabled = true;
        submit.textContent = t("receiving");
        try {
          const answer = await ctx.api("POST", "/stock/receive", body);
          const resumed = answer.resumed || [];
          const vars = {
            sku: body.sku,
            quantity: body.quantity,
            on_hand: answer.level.on_hand,
            available: available(answer.level),
            n: resumed.length,
            orders: resumed.join(", "),
          };
          ctx.notify(t(resumed.length ? "received_resumed" : "received", vars));
          if (resumed.length) ctx.refreshTabs();
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          submit.disabled = false;
          submit.textContent = t("receive_submit");
        }
      },
    },
    h("label", { for: sku.id }, t("receive_sku")),
    sku,
    h("label", { for: quantity.id }, t("receive_quantity")),
    quantity,
    h("label", { for: why.id }, t("receive_why")),
    why,
    h("div", { class: "actions" }, submit),
  );
  const card = h(
    "section",
    { class: "card", "aria-labelledby": headingId, testid: "receive" },
    h("h3", { id: headingId }, t("receive_title")),
    form,
  );
  // A row's 入库 button: this SKU, the cursor on the quantity.
  const start = (value) => {
    sku.value = value;
    card.scrollIntoView({ block: "start" });
    quantity.focus();
  };
  return { card, start };
}

// -- the levels ----------------------------------------------------------------------------------------

function reorderForm(ctx, level) {
  const { h, t } = ctx;
  const input = h("input", {
    type: "number",
    required: true,
    min: "0",
    max: "1000000",
    step: "1",
    inputmode: "numeric",
    value: String(level.reorder_point ?? 0),
    "aria-label": t("reorder_for", { sku: level.sku }),
    testid: `reorder-input-${level.sku}`,
  });
  const save = h(
    "button",
    {
      type: "submit",
      "aria-label": t("set_reorder_for", { sku: level.sku }),
      testid: `reorder-save-${level.sku}`,
    },
    t("set_reorder"),
  );
  return h(
    "form",
    {
      "aria-label": t("set_reorder_for", { sku: level.sku }),
      testid: `reorder-form-${level.sku}`,
      onsubmit: async (event) => {
        event.preventDefault();
        const n = Number.parseInt(input.value, 10);
        save.disabled = true;
        save.textContent = t("reorder_saving");
        try {
          await ctx.api("PUT", `/stock/${encodeURIComponent(level.sku)}/reorder-point`, { reorder_point: n });
          ctx.notify(t("reorder_saved", { sku: level.sku, n }));
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          save.disabled = false;
          save.textContent = t("set_reorder");
        }
      },
    },
    input,
    " ",
    save,
  );
}

async function loadMovements(ctx, sku, cell) {
  const { h, t } = ctx;
  const answer = await ctx.api("GET", `/stock/${encodeURIComponent(sku)}/movements?limit=${MOVEMENTS_SHOWN}`);
  const movements = answer.movements || [];
  while (cell.firstChild) cell.firstChild.remove();
  if (!movements.length) {
    cell.append(h("p", { class: "empty", testid: `movements-empty-${sku}` }, t("movements_empty", { sku })));
    return;
  }
  cell.append(
    h(
      "table",
      { class: "table", testid: `movements-${sku}` },
      h("caption", {}, t("movements_caption", { sku, n: movements.length })),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          th(ctx, "time"),
          th(ctx, "kind"),
          th(ctx, "on_hand_delta", true),
          th(ctx, "reserved_delta", true),
          th(ctx, "why"),
          th(ctx, "order"),
          th(ctx, "by"),
        ),
      ),
      h(
        "tbody",
        {},
        movements.map((m) =>
          h(
            "tr",
            { testid: "movement" },
            h("td", {}, ctx.time(m.at)),
            h("td", {}, KINDS.includes(m.kind) ? t(`kind_${m.kind}`) : m.kind),
            h("td", { class: "num" }, signed(m.on_hand_delta)),
            h("td", { class: "num" }, signed(m.reserved_delta)),
            h("td", {}, m.why),
            h("td", {}, m.order_id ? ctx.orderLink(m.order_id) : ""),
            h("td", {}, m.by),
          ),
        ),
      ),
    ),
  );
}

function levelsTable(ctx, levels, names, lowOnly, startReceive) {
  const { h, t } = ctx;
  const columns = 8;
  const body = h("tbody");
  for (const level of levels) {
    const free = available(level);
    const low = free <= (level.reorder_point ?? 0);
    const movementsRow = h("tr", { hidden: true, testid: `movements-row-${level.sku}` });
    movementsRow.id = uid("movements");
    const movementsCell = h("td", { colspan: String(columns) });
    movementsRow.append(movementsCell);
    let loaded = false;
    const toggle = h(
      "button",
      {
        type: "button",
        "aria-expanded": "false",
        "aria-controls": movementsRow.id,
        "aria-label": t("movements_for", { sku: level.sku }),
        testid: `movements-toggle-${level.sku}`,
        onclick: async () => {
          const open = movementsRow.hidden;
          movementsRow.hidden = !open;
          toggle.setAttribute("aria-expanded", String(open));
          toggle.textContent = open ? t("hide_movements") : t("movements");
          if (open && !loaded) {
            movementsCell.append(h("p", { class: "muted" }, t("loading")));
            toggle.disabled = true;
            try {
              await loadMovements(ctx, level.sku, movementsCell);
              loaded = true;
            } catch (err) {
              while (movementsCell.firstChild) movementsCell.firstChild.remove();
              ctx.fail(err);
            } finally {
              toggle.disabled = false;
            }
          }
        },
      },
      t("movements"),
    );
    body.append(
      h(
        "tr",
        { testid: `stock-row-${level.sku}` },
        h("th", { scope: "row" }, h("code", {}, level.sku)),
        h("td", {}, names.get(level.sku) || ""),
        h("td", { class: "num", testid: `on-hand-${level.sku}` }, level.on_hand),
        h("td", { class: "num", testid: `reserved-${level.sku}` }, level.reserved),
        h("td", { class: "num", testid: `available-${level.sku}` }, free),
        h("td", {}, reorderForm(ctx, level)),
        h(
          "td",
          {},
          low
            ? h("span", { class: "badge warn", testid: `low-${level.sku}` }, t("low"))
            : h("span", { class: "badge ok", testid: `enough-${level.sku}` }, t("enough")),
        ),
        h(
          "td",
          {},
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                "aria-label": t("receive_for_sku", { sku: level.sku }),
                testid: `receive-${level.sku}`,
                onclick: () => startReceive(level.sku),
              },
              t("receive_for"),
            ),
            toggle,
          ),
        ),
      ),
      movementsRow,
    );
  }
  if (!levels.length) {
    body.append(
      h(
        "tr",
        {},
        h(
          "td",
          { colspan: String(columns), class: "empty", testid: "stock-empty" },
          t(lowOnly ? "low_empty" : "levels_empty"),
        ),
      ),
    );
  }
  return h(
    "table",
    { class: "table", testid: "stock-table" },
    h("caption", {}, t(lowOnly ? "low_caption" : "levels_caption", { n: levels.length })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        th(ctx, "sku"),
        th(ctx, "name"),
        th(ctx, "on_hand", true),
        th(ctx, "reserved", true),
        th(ctx, "available", true),
        th(ctx, "reorder_point"),
        th(ctx, "state"),
        th(ctx, "actions"),
      ),
    ),
    body,
  );
}

// -- 采购建议 ------------------------------------------------------------------------------------------

function purchaseTable(ctx, lines, names) {
  const { h, t } = ctx;
  const columns = 9;
  return h(
    "table",
    { class: "table", testid: "purchase-list" },
    h("caption", {}, t("purchase_caption", { n: lines.length })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        th(ctx, "sku"),
        th(ctx, "name"),
        th(ctx, "on_hand", true),
        th(ctx, "available", true),
        th(ctx, "reorder_point", true),
        th(ctx, "waiting_demand", true),
        th(ctx, "sold_7", true),
        th(ctx, "sold_30", true),
        th(ctx, "to_buy", true),
      ),
    ),
    h(
      "tbody",
      {},
      lines.length
        ? lines.map((line) =>
            h(
              "tr",
              { testid: `purchase-${line.sku}` },
              h("th", { scope: "row" }, h("code", {}, line.sku)),
              h("td", {}, names.get(line.sku) || ""),
              h("td", { class: "num" }, line.on_hand),
              h("td", { class: "num" }, line.available),
              h("td", { class: "num" }, line.reorder_point),
              h("td", { class: "num" }, line.waiting_demand),
              h("td", { class: "num" }, line.sold_7_days),
              h("td", { class: "num" }, line.sold_30_days),
              h("td", { class: "num", testid: `to-buy-${line.sku}` }, h("strong", {}, line.to_buy)),
            ),
          )
        : h(
            "tr",
            {},
            h(
              "td",
              { colspan: String(columns), class: "empty", testid: "purchase-empty" },
              t("purchase_empty"),
            ),
          ),
    ),
  );
}

// -- the view ------------------------------------------------------------------------------------------

async function render(root, ctx, params) {
  const { h, t } = ctx;
  const lowOnly = params?.query?.get("low") === "true";
  const [stock, purchase, products] = await Promise.all([
    ctx.api("GET", lowOnly ? "/stock?low=true" : "/stock"),
    ctx.api("GET", "/stock/purchase-list"),
    optional(ctx.api("GET", "/products"), { products: [] }),
  ]);
  if (ctx.current && !ctx.current()) return; // the operator has moved on

  const names = new Map(
    (products.products || []).map((p) => [p.sku, ctx.lang === "zh" ? p.name_zh : p.name_en]),
  );
  const levels = [...(stock.levels || [])].sort((a, b) => a.sku.localeCompare(b.sku));
  const known = new Set([...names.keys(), ...levels.map((l) => l.sku)]);
  const skuListId = uid("skus");
  const datalist = h(
    "datalist",
    { id: skuListId, testid: "stock-skus" },
    [...known]
      .sort()
      .map((sku) => h("option", { value: sku }, names.get(sku) ? `${sku} · ${names.get(sku)}` : sku)),
  );

  const lowId = uid("low-only");
  const lowBox = h("input", {
    id: lowId,
    type: "checkbox",
    checked: lowOnly,
    testid: "stock-low-only",
    onchange: () => ctx.navigate(lowBox.checked ? "#/stock?low=true" : "#/stock"),
  });
  const toolbar = h(
    "div",
    { class: "actions" },
    h("span", {}, lowBox, " ", h("label", { for: lowId }, t("low_only"))),
    h("button", { type: "button", testid: "stock-refresh", onclick: () => ctx.rerender() }, t("refresh")),
  );

  const receive = receiveForm(ctx, skuListId);
  const levelsHeading = uid("levels");
  const purchaseHeading = uid("purchase");
  root.append(
    h("h2", { testid: "view-title" }, t("title")),
    h("p", { class: "muted" }, t("intro")),
    datalist,
    receive.card,
    h(
      "section",
      { "aria-labelledby": levelsHeading, testid: "stock-levels" },
      h("h3", { id: levelsHeading }, t("levels_title")),
      toolbar,
      levelsTable(ctx, levels, names, lowOnly, receive.start),
    ),
    h(
      "section",
      { "aria-labelledby": purchaseHeading, testid: "purchase" },
      h("h3", { id: purchaseHeading }, t("purchase_title")),
      purchaseTable(ctx, purchase.lines || [], names),
    ),
  );
}

export default {
  route: "stock",
  nav: { zh: "库存", en: "Stock" },
  strings,
  render,
};
