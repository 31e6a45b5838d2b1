import { withLocalOffset } from "../dom.js";

// A tab's orders (and the search results): filters, paging, select many and act on them, with the
// result of each order shown, since one refused order must not hide the others that went through.

const PAGE_SIZE = 50;
const FILTERS = ["store", "channel", "country", "sku", "ship_by_before"];
const CLOSED = new Set(["shipped", "confirmed", "cancelled"]);
// The cursors of the pages before this one, per tab and filters: "previous page" walks back along them.
const trails = new Map();
// The last action's results, kept across the re-render that follows it (the orders it moved have left
// the list, and the operator still has to see which were refused, and why).
let carried = null;

const strings = {
  zh: {
    title: "订单 · {status}",
    search_title: "搜索：{q}",
    filters: "筛选",
    filter_store: "店铺",
    filter_channel: "物流渠道",
    filter_country: "国家（两位代码）",
    filter_sku: "SKU",
    filter_ship_by: "最晚发货早于",
    any: "全部",
    apply: "筛选",
    reset: "清除",
    select_all: "全选本页",
    select_order: "选择订单 {id}",
    selected: "已选 {n} 个订单",
    note: "备注（写入订单历史）",
    note_needed: "请填写{action}的原因",
    approve: "审核通过",
    hold: "搁置",
    release: "解除搁置",
    cancel_orders: "取消订单",
    confirm_cancel: "确认取消 {n} 个订单",
    keep: "不取消",
    none_selected: "请先选择订单",
    results: "操作结果",
    done: "成功",
    refused: "未执行",
    ordered_at: "下单时间",
    ship_by: "最晚发货",
    late: "已超时",
    buyer: "买家",
    items: "商品",
    notes: "提示",
    waiting_for: "等待：{what}",
    hold_reason: "搁置原因：{what}",
    manual_review: "人工审核：{what}",
    next_page: "下一页",
    previous_page: "上一页",
    page: "第 {n} 页",
    per_page: "每页",
    empty_tab: "此状态下没有订单",
    empty_search: "没有找到匹配的订单",
    list_caption: "{status}的订单",
    search_caption: "搜索结果",
  },
  en: {
    title: "Orders · {status}",
    search_title: "Search: {q}",
    filters: "Filters",
    filter_store: "Store",
    filter_channel: "Channel",
    filter_country: "Country (2 letters)",
    filter_sku: "SKU",
    filter_ship_by: "Ship by before",
    any: "Any",
    apply: "Filter",
    reset: "Clear",
    select_all: "Select the page",
    select_order: "Select order {id}",
    selected: "{n} orders selected",
    note: "Note (written to each order's history)",
    note_needed: "Say why you {action}",
    approve: "Approve",
    hold: "Hold",
    release: "Release",
    cancel_orders: "Cancel orders",
    confirm_cancel: "Yes, cancel {n} orders",
    keep: "Keep them",
    none_selected: "Select orders first",
    results: "Results",
    done: "done",
    refused: "refused",
    ordered_at: "Ordered",
    ship_by: "Ship by",
    late: "late",
    buyer: "Buyer",
    items: "Items",
    notes: "Notes",
    waiting_for: "waiting for: {what}",
    hold_reason: "held: {what}",
    manual_review: "review by hand: {what}",
    next_page: "Next page",
    previous_page: "Previous page",
    page: "Page {n}",
    per_page: "Per page",
    empty_tab: "No orders in this status",
    empty_search: "No order matches",
    list_caption: "Orders: {status}",
    search_caption: "Search results",
  },
};

function actionsFor(status) {
  if (!status) return ["approve", "hold", "release", "cancel"];
  const actions = [];
  if (status === "pending_review") actions.push("approve");
  if (status === "on_hold") actions.push("release");
  if (status !== "on_hold" && !CLOSED.has(status)) actions.push("hold");
  if (!CLOSED.has(status)) actions.push("cancel");
  return actions;
}

function filterBar(ctx, status, query, stores) {
  const { h, t, uid } = ctx;
  const inputs = {};
  const labelled = (key, control) => {
    const id = uid(`filter-${key}`);
    control.id = id;
    inputs[key] = control;
    return h("label", { for: id }, t(`filter_${key === "ship_by_before" ? "ship_by" : key}`), control);
  };
  const storeSelect = h(
    "select",
    { testid: "filter-store" },
    h("option", { value: "" }, t("any")),
    stores.map((s) =>
      h(
        "option",
        { value: s.store_id, selected: query.get("store") === s.store_id },
        `${s.name} (${s.store_id})`,
      ),
    ),
  );
  const shipBy = query.get("ship_by_before") || "";
  return h(
    "form",
    {
      class: "toolbar card",
      "aria-label": t("filters"),
      testid: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const key of FILTERS) {
          let value = inputs[key].value.trim();
          if (key === "country") value = value.toUpperCase();
          if (key === "ship_by_before") value = withLocalOffset(value);
          if (value) next.set(key, value);
        }
        ctx.navigate(`#/orders/${status}${next.size ? `?${next}` : ""}`);
      },
    },
    labelled("store", storeSelect),
    labelled(
      "channel",
      h("input", {
        value: query.get("channel") || "",
        maxlength: "64",
        size: "12",
        testid: "filter-channel",
      }),
    ),
    labelled(
      "country",
      h("input", {
        value: query.get("country") || "",
        maxlength: "2",
        size: "3",
        pattern: "[A-Za-z]{2}",
        testid: "filter-country",
      }),
    ),
    labelled(
      "sku",
      h("input", { value: query.get("sku") || "", maxlength: "100", size: "14", testid: "filter-sku" }),
    ),
    labelled(
      "ship_by_before",
      h("input", { type: "datetime-local", value: shipBy.slice(0, 16), testid: "filter-ship-by" }),
    ),
    h("button", { type: "submit", class: "primary", testid: "apply-filters" }, t("apply")),
    h(
      "button",
      { type: "button", testid: "reset-filters", onclick: () => ctx.navigate(`#/orders/${status}`) },
      t("reset"),
    ),
  );
}

function notesOf(ctx, order) {
  const { h, t } = ctx;
  return [
    order.late ? h("span", { class: "badge bad" }, t("late")) : null,
    order.hold_reason
      ? h("span", { class: "badge warn" }, t("hold_reason", { what: order.hold_reason }))
      : null,
    order.waiting_for?.length
      ? h("span", { class: "badge warn" }, t("waiting_for", { what: order.waiting_for.join(", ") }))
      : null,
    order.manual_review
      ? h("span", { class: "badge warn" }, t("manual_review", { what: order.manual_review }))
      : null,
    order.alert ? h("span", { class: "badge bad" }, order.alert) : null,
    (order.package_problems || []).map((p) => h("span", { class: "badge bad" }, p)),
    (order.tags || []).map((tag) => h("span", { class: "badge" }, tag)),
  ];
}

function orderTable(ctx, orders, caption, selection, onSelection) {
  const { h, t } = ctx;
  const boxes = [];
  const all = h("input", {
    type: "checkbox",
    testid: "select-all",
    "aria-label": t("select_all"),
    onchange: () => {
      for (const box of boxes) {
        box.checked = all.checked;
        if (all.checked) selection.add(box.value);
        else selection.delete(box.value);
      }
      onSelection();
    },
  });
  const rows = orders.map((order) => {
    const box = h("input", {
      type: "checkbox",
      value: order.order_id,
      checked: selection.has(order.order_id),
      testid: `select-${order.order_id}`,
      "aria-label": t("select_order", { id: order.order_id }),
      onchange: () => {
        if (box.checked) selection.add(order.order_id);
        else selection.delete(order.order_id);
        all.checked = boxes.every((b) => b.checked);
        onSelection();
      },
    });
    boxes.push(box);
    return h(
      "tr",
      { testid: `row-${order.order_id}` },
      h("td", {}, box),
      h("td", {}, ctx.orderLink(order.order_id), h("div", { class: "muted" }, order.platform_order_id)),
      h("td", {}, ctx.statusLabel(order.status)),
      h("td", {}, order.store_id),
      h("td", {}, order.buyer_name || ""),
      h("td", {}, order.country_code || ""),
      h("td", {}, order.skus.join(", "), h("div", { class: "muted" }, `× ${order.units}`)),
      h("td", {}, order.channel_code || ""),
      h("td", {}, ctx.time(order.ordered_at)),
      h("td", {}, ctx.time(order.ship_by)),
      h("td", {}, notesOf(ctx, order)),
    );
  });
  return h(
    "table",
    { class: "table", testid: "orders-table" },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, all),
        ...[
          "order",
          "status",
          "store",
          "buyer",
          "country",
          "items",
          "channel",
          "ordered_at",
          "ship_by",
          "notes",
        ].map((k) => h("th", { scope: "col" }, t(k))),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function actionBar(ctx, status, selection, after) {
  const { h, t, uid } = ctx;
  const noteId = uid("note");
  const note = h("input", { id: noteId, maxlength: "500", size: "36", testid: "action-note" });
  const count = h("span", { class: "muted", testid: "selected-count" }, t("selected", { n: selection.size }));
  const confirmRow = h("div", { class: "actions", testid: "cancel-confirmation" });
  const results = h("div", { testid: "action-results", "aria-live": "polite" });
  const buttons = [];

  async function act(action) {
    const ids = [...selection];
    if (!ids.length) {
      ctx.notify(t("none_selected"), "error");
      return;
    }
    let why = note.value.trim();
    if (!why && (action === "hold" || action === "cancel")) {
      ctx.notify(t("note_needed", { action: t(action === "hold" ? "hold" : "cancel_orders") }), "error");
      note.focus();
      return;
    }
    why ||= t(action);
    for (const b of buttons) b.disabled = true;
    try {
      const answer = await ctx.api("POST", `/orders/actions/${action}`, { order_ids: ids, note: why });
      carried = answer.results;
      const done = answer.results.filter((r) => r.ok).length;
      ctx.notify(
        `${t(action === "cancel" ? "cancel_orders" : action)}: ${done}/${answer.results.length} ${t("done")}`,
      );
      selection.clear();
      ctx.refreshTabs();
      after();
    } catch (err) {
      ctx.fail(err);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  function showResults(list) {
    results.replaceChildren(
      h(
        "table",
        { class: "table" },
        h("caption", {}, t("results")),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, t("order")),
            h("th", { scope: "col" }, t("status")),
            h("th", { scope: "col" }, t("reason")),
          ),
        ),
        h(
          "tbody",
          {},
          list.map((r) =>
            h(
              "tr",
              { testid: `action-result-${r.order_id}` },
              h("td", {}, ctx.orderLink(r.order_id)),
              h("td", { class: r.ok ? "result-ok" : "result-bad" }, r.ok ? t("done") : t("refused")),
              h("td", {}, r.detail),
            ),
          ),
        ),
      ),
    );
  }

  for (const action of actionsFor(status)) {
    const label = action === "cancel" ? t("cancel_orders") : t(action);
    const button = h(
      "button",
      {
        type: "button",
        class: action === "cancel" ? "danger" : action === "approve" ? "primary" : null,
        testid: `action-${action}`,
        onclick: () => {
          if (action !== "cancel") return act(action);
          if (!selection.size) return ctx.notify(t("none_selected"), "error");
          // Cancelling gives stock back and cannot be undone from here: one more click, on purpose.
          confirmRow.replaceChildren(
            h(
              "button",
              {
                type: "button",
                class: "danger",
                testid: "confirm-cancel",
                onclick: () => {
                  confirmRow.replaceChildren();
                  act("cancel");
                },
              },
              t("confirm_cancel", { n: selection.size }),
            ),
            h(
              "button",
              { type: "button", testid: "keep-orders", onclick: () => confirmRow.replaceChildren() },
              t("keep"),
            ),
          );
          confirmRow.querySelector("button")?.focus();
        },
      },
      label,
    );
    buttons.push(button);
  }
  if (carried) {
    showResults(carried);
    carried = null;
  }
  const bar = h(
    "div",
    { class: "card" },
    h("div", { class: "toolbar" }, count, h("label", { for: noteId }, t("note"), note), buttons),
    confirmRow,
    results,
  );
  return { bar, update: () => (count.textContent = t("selected", { n: selection.size })) };
}

async function render(root, ctx, params) {
  const { h, t } = ctx;
  const searching = params.route === "search";
  const status = searching ? null : params[0] || "pending_review";
  const query = params.query;
  const heading = searching
    ? t("search_title", { q: query.get("q") || "" })
    : t("title", { status: ctx.statusLabel(status) });
  root.append(h("h2", { tabindex: "-1", testid: "view-title" }, heading));

  let orders;
  let next = null;
  const trailKey = `${status}?${[...query]
    .filter(([k]) => k !== "cursor")
    .map(([k, v]) => `${k}=${v}`)
    .join("&")}`;
  const trail = trails.get(trailKey) || [];
  const cursor = query.get("cursor");
  if (!cursor) trail.length = 0;
  trails.set(trailKey, trail);
  const [answer, storeList] = await Promise.all([
    searching
      ? ctx.api("GET", `/orders/search?q=${encodeURIComponent(query.get("q") || "")}`)
      : ctx.api("GET", `/orders?${listQuery(status, query)}`),
    searching ? Promise.resolve({ stores: [] }) : ctx.api("GET", "/stores").catch(() => ({ stores: [] })),
  ]);
  if (!ctx.current()) return;
  orders = answer.orders;
  next = answer.next_cursor || null;

  if (!searching) root.append(filterBar(ctx, status, query, storeList.stores));
  const selection = new Set();
  const actions = actionBar(ctx, status, selection, () => ctx.rerender());
  root.append(actions.bar);
  if (!orders.length) {
    root.append(h("p", { class: "empty", testid: "no-orders" }, t(searching ? "empty_search" : "empty_tab")));
  } else {
    const caption = searching ? t("search_caption") : t("list_caption", { status: ctx.statusLabel(status) });
    root.append(orderTable(ctx, orders, caption, selection, actions.update));
  }
  if (!searching) root.append(pager(ctx, status, query, trail, cursor, next));
}

function pageSize(query) {
  const n = Number(query.get("limit"));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : PAGE_SIZE;
}

function listQuery(status, query) {
  const q = new URLSearchParams({ status, limit: String(pageSize(query)) });
  for (const key of [...FILTERS, "cursor"]) if (query.get(key)) q.set(key, query.get(key));
  return q;
}

function pager(ctx, status, query, trail, cursor, next) {
  const { h, t, uid } = ctx;
  const go = (c) => {
    const q = new URLSearchParams(query);
    if (c) q.set("cursor", c);
    else q.delete("cursor");
    ctx.navigate(`#/orders/${status}${q.size ? `?${q}` : ""}`);
  };
  const sizeId = uid("page-size");
  const size = h(
    "select",
    {
      id: sizeId,
      testid: "page-size",
      onchange: () => {
        const q = new URLSearchParams(query);
        q.delete("cursor");
        q.set("limit", size.value);
        ctx.navigate(`#/orders/${status}?${q}`);
      },
    },
    [...new Set([20, 50, 100, pageSize(query)])]
      .sort((a, b) => a - b)
      .map((n) => h("option", { value: String(n), selected: n === pageSize(query) }, String(n))),
  );
  return h(
    "nav",
    { class: "pager", "aria-label": t("page", { n: trail.length + 1 }) },
    h(
      "button",
      { type: "button", testid: "previous-page", disabled: !cursor, onclick: () => go(trail.pop() || null) },
      t("previous_page"),
    ),
    h("span", { class: "muted", testid: "page-number" }, t("page", { n: trail.length + 1 })),
    h(
      "button",
      {
        type: "button",
        testid: "next-page",
        disabled: !next,
        onclick: () => {
          trail.push(cursor || "");
          go(next);
        },
      },
      t("next_page"),
    ),
    h("label", { for: sizeId }, t("per_page")),
    size,
  );
}

export default { route: "orders", nav: { zh: "订单", en: "Orders" }, strings, render };
