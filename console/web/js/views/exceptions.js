import { table } from "../dom.js";

// 异常: what needs a person. Waybills the carrier (or the customs check) refused, with the reason and the
// order where it is fixed, and 重试 once it is; shipment confirmations a marketplace refused; orders a
// marketplace sent that could not be read; and the dead-lettered confirmations (死信), sent again with
// 重新投递 once what made them fail is fixed.

// What the last action did, shown once by the re-render that follows it.
let flash = null; // { kind: "redrive", moved: [...] }

const strings = {
  zh: {
    title: "异常",
    intro: "需要人工处理的问题。处理后点“重试”或“重新投递”，系统会继续处理。",
    refresh: "刷新",
    summary: "申请失败 {failed} · 确认发货被拒 {refused} · 无法读取的订单 {rejected} · 死信 {dead}",
    failed_title: "运单申请失败（{n}）",
    failed_intro: "承运商或报关检查拒绝了运单申请。打开订单修改地址或报关信息，然后重试。",
    failed_caption: "运单申请失败的包裹（{n} 个）",
    failed_empty: "没有运单申请失败的包裹",
    refused_title: "确认发货被拒（{n}）",
    refused_intro: "平台拒绝了发货确认，或多次投递都失败。",
    refused_caption: "确认发货被拒的包裹（{n} 个）",
    refused_empty: "没有被拒的发货确认",
    rejected_title: "无法读取的平台订单（{n}）",
    rejected_intro: "平台发来的订单无法接收，请在平台后台核对。",
    rejected_caption: "无法读取的平台订单（{n} 个）",
    rejected_empty: "没有无法读取的平台订单",
    dead_title: "死信（{n}）",
    dead_intro: "每次投递都失败的发货确认。修复原因（店铺授权、平台故障）后重新投递。",
    dead_caption: "死信队列中的发货确认（{n} 条）",
    dead_empty: "死信队列是空的",
    package: "包裹",
    tracking: "运单号",
    error: "错误",
    platform_order: "平台订单号",
    platform_status: "平台状态",
    raw_key: "原始数据",
    receive_count: "投递次数",
    first_sent: "首次发送",
    dead_lettered: "已进入死信",
    not_dead_lettered: "未进入死信",
    actions: "操作",
    fix_in_order: "在订单中修改",
    retry: "重试",
    retry_order: "重试订单 {order}",
    retrying: "正在重试…",
    retried: "订单 {order} 已重新提交：{n} 个包裹（第 {attempt} 次）",
    redrive: "重新投递全部死信",
    redriving: "正在重新投递…",
    redriven: "已重新投递 {n} 条发货确认",
    redriven_none: "没有可重新投递的死信",
    redriven_list: "已重新投递的包裹：{ids}",
  },
  en: {
    title: "Exceptions",
    intro: "What needs a person. Once it is fixed, Retry or Redrive and the work goes on.",
    refresh: "Refresh",
    summary:
      "Waybill failed {failed} · Confirmation refused {refused} · Unreadable orders {rejected} · Dead letters {dead}",
    failed_title: "Waybill failed ({n})",
    failed_intro:
      "The carrier or the customs check refused the waybill. Open the order, fix its address or customs declaration, then retry.",
    failed_caption: "Packages whose waybill failed ({n})",
    failed_empty: "No waybill failed",
    refused_title: "Confirmation refused ({n})",
    refused_intro: "The marketplace refused the shipment confirmation, or every delivery of it failed.",
    refused_caption: "Packages whose confirmation was refused ({n})",
    refused_empty: "No confirmation was refused",
    rejected_title: "Orders that could not be read ({n})",
    rejected_intro:
      "Orders the marketplace sent that could not be taken in: check them in the marketplace's back office.",
    rejected_caption: "Marketplace orders that could not be read ({n})",
    rejected_empty: "No marketplace order was refused",
    dead_title: "Dead letters ({n})",
    dead_intro:
      "Shipment confirmations every delivery of which failed. Fix the cause (the store's credentials, a marketplace outage), then redrive them.",
    dead_caption: "Confirmations in the dead-letter queue ({n})",
    dead_empty: "The dead-letter queue is empty",
    package: "Package",
    tracking: "Tracking no.",
    error: "Error",
    platform_order: "Platform order",
    platform_status: "Platform status",
    raw_key: "Raw payload",
    receive_count: "Deliveries",
    first_sent: "First sent",
    dead_lettered: "dead-lettered",
    not_dead_lettered: "not dead-lettered",
    actions: "Actions",
    fix_in_order: "fix it in the order",
    retry: "Retry",
    retry_order: "Retry order {order}",
    retrying: "Retrying…",
    retried: "Order {order} sent again: {n} packages (attempt {attempt})",
    redrive: "Redrive every dead letter",
    redriving: "Redriving…",
    redriven: "{n} shipment confirmations sent again",
    redriven_none: "No dead letter could be sent again",
    redriven_list: "Packages sent again: {ids}",
  },
};

function section(ctx, key, count, body, extra) {
  const { h, t } = ctx;
  const id = `exceptions-${key}-title`;
  return h(
    "section",
    { class: "card", testid: `section-${key}`, "aria-labelledby": id },
    h("h3", { id }, t(`${key}_title`, { n: count })),
    h("p", { class: "muted" }, t(`${key}_intro`)),
    extra || null,
    count ? body() : h("p", { class: "empty", testid: `empty-${key}` }, t(`${key}_empty`)),
  );
}

function retryButton(ctx, orderId) {
  const { h, t } = ctx;
  const button = h(
    "button",
    {
      type: "button",
      testid: `retry-${orderId}`,
      "aria-label": t("retry_order", { order: orderId }),
      onclick: async () => {
        button.disabled = true;
        button.textContent = t("retrying");
        try {
          const outcome = await ctx.api("POST", `/orders/${encodeURIComponent(orderId)}/retry`);
          ctx.notify(
            t("retried", {
              order: outcome.order_id,
              n: outcome.retried_packages.length,
              attempt: outcome.attempt,
            }),
          );
          ctx.refreshTabs();
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          button.disabled = false;
          button.textContent = t("retry");
        }
      },
    },
    t("retry"),
  );
  return button;
}

function failedWaybills(ctx, lines) {
  const { h, t } = ctx;
  const offered = new Set(); // one retry per order: it sends every refused package of the order again
  return table(
    t("failed_caption", { n: lines.length }),
    "failed-waybills",
    [[t("order")], [t("package")], [t("channel")], [t("reason")], [t("actions")]],
    lines.map((line) => {
      const first = !offered.has(line.order_id);
      offered.add(line.order_id);
      return h(
        "tr",
        { testid: `failed-${line.package_id}` },
        h(
          "td",
          {},
          ctx.orderLink(line.order_id),
          h("br", {}),
          h("span", { class: "muted" }, t("fix_in_order")),
        ),
        h("td", {}, line.package_id),
        h("td", {}, line.channel_code),
        h("td", { testid: `failed-reason-${line.package_id}` }, line.reason),
        h("td", {}, first ? retryButton(ctx, line.order_id) : null),
      );
    }),
  );
}

function refusedConfirmations(ctx, lines) {
  const { h, t } = ctx;
  return table(
    t("refused_caption", { n: lines.length }),
    "refused-confirmations",
    [[t("order")], [t("package")], [t("tracking")], [t("reason")], [t("status")]],
    lines.map((line) =>
      h(
        "tr",
        { testid: `refused-${line.package_id}` },
        h("td", {}, ctx.orderLink(line.order_id)),
        h("td", {}, line.package_id),
        h("td", {}, line.tracking_number || ""),
        h("td", {}, line.reason),
        h(
          "td",
          {},
          h(
            "span",
            { class: line.dead_lettered ? "badge bad" : "badge warn" },
            t(line.dead_lettered ? "dead_lettered" : "not_dead_lettered"),
          ),
        ),
      ),
    ),
  );
}

function rejectedOrders(ctx, lines) {
  const { h, t } = ctx;
  return table(
    t("rejected_caption", { n: lines.length }),
    "rejected-orders",
    [[t("platform_order")], [t("platform_status")], [t("error")], [t("raw_key")]],
    lines.map((line) =>
      h(
        "tr",
        { testid: `rejected-${line.platform_order_id}` },
        h("td", {}, line.platform_order_id),
        h("td", {}, line.platform_status || ""),
        h("td", {}, line.error),
        h("td", {}, line.raw_key ? h("code", {}, line.raw_key) : ""),
      ),
    ),
  );
}

function deadLetters(ctx, lines) {
  const { h, t } = ctx;
  return table(
    t("dead_caption", { n: lines.length }),
    "dead-letters",
    [[t("order")], [t("package")], [t("receive_count"), true], [t("first_sent")]],
    lines.map((line) =>
      h(
        "tr",
        { testid: `dead-letter-${line.package_id}` },
        h("td", {}, ctx.orderLink(line.order_id)),
        h("td", {}, line.package_id),
        h("td", { class: "num" }, line.receive_count),
        h("td", {}, ctx.time(line.first_sent_at)),
      ),
    ),
  );
}

function redriveButton(ctx) {
  const { h, t } = ctx;
  const button = h(
    "button",
    {
      type: "button",
      class: "primary",
      testid: "redrive",
      onclick: async () => {
        button.disabled = true;
        button.textContent = t("redriving");
        try {
          const answer = await ctx.api("POST", "/exceptions/dead-letters/redrive");
          flash = { kind: "redrive", moved: answer.moved };
          ctx.notify(answer.moved.length ? t("redriven", { n: answer.moved.length }) : t("redriven_none"));
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          button.disabled = false;
          button.textContent = t("redrive");
        }
      },
    },
    t("redrive"),
  );
  return h("div", { class: "actions" }, button);
}

function redriveResult(ctx, moved) {
  const { h, t } = ctx;
  return h(
    "p",
    { class: moved.length ? "result-ok" : "muted", testid: "redrive-result", "data-moved": moved.join(" ") },
    moved.length
      ? [t("redriven", { n: moved.length }), " — ", t("redriven_list", { ids: moved.join(", ") })]
      : t("redriven_none"),
  );
}

async function render(root, ctx) {
  const { h, t } = ctx;
  const shown = flash;
  flash = null;
  const found = await ctx.api("GET", "/exceptions");
  if (ctx.current && !ctx.current()) return;
  const counts = {
    failed: found.waybill_failed.length,
    refused: found.confirmation_refused.length,
    rejected: found.rejected_orders.length,
    dead: found.dead_letters.length,
  };
  root.append(
    h("h2", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    h(
      "div",
      { class: "toolbar" },
      h("span", { testid: "exceptions-summary" }, t("summary", counts)),
      h("button", { type: "button", testid: "refresh", onclick: () => ctx.rerender() }, t("refresh")),
    ),
    section(ctx, "failed", counts.failed, () => failedWaybills(ctx, found.waybill_failed)),
    section(ctx, "refused", counts.refused, () => refusedConfirmations(ctx, found.confirmation_refused)),
    section(ctx, "rejected", counts.rejected, () => rejectedOrders(ctx, found.rejected_orders)),
    section(
      ctx,
      "dead",
      counts.dead,
      () => [redriveButton(ctx), deadLetters(ctx, found.dead_letters)],
      shown?.kind === "redrive" ? redriveResult(ctx, shown.moved) : null,
    ),
  );
}

export default {
  route: "exceptions",
  nav: { zh: "异常", en: "Exceptions" },
  strings,
  render,
};
