import { table, uid, withLocalOffset } from "../dom.js";

// 批量打印: choose what to print (channels, stores, SKUs, ship-by, how many, the printer's format), print it
// as one merged label file and a pick list, and see what was printed, what was held back and why. Below,
// the batches already printed, each with its packages and every print, and 重新打印 for a jammed printer
// or an expired link (every reprint is recorded).

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 500;
const BATCHES_SHOWN = 50;

// The last print's answer, kept while its links work, so that the re-render after printing shows it.
let lastPrint = null; // { batch: PrintedBatch, until: ms }

const strings = {
  zh: {
    title: "批量打印",
    intro: "选择要打印的待打印面单（不选即全部），打印后包裹进入待发货，等待扫码出库。",
    waiting: "待打印的面单：{n} 个",
    waiting_tab: "查看待打印订单",
    form_label: "批量打印条件",
    channels: "物流渠道（可多选）",
    stores: "店铺（可多选）",
    skus: "SKU（多个用逗号或空格分隔）",
    ship_by_before: "最晚发货早于",
    limit: "最多打印（1–1000 张）",
    label_format: "面单格式",
    format_default: "各渠道默认格式",
    format_pdf: "PDF（A4 / 热敏打印机驱动）",
    format_zpl: "ZPL（斑马热敏打印机）",
    print: "批量打印",
    printing: "正在打印…",
    printed_note: "已打印批次 {batch}：{n} 张面单",
    reprinted_note: "已重新打印批次 {batch}（第 {number} 次打印）：{n} 张面单",
    nothing_printed_note: "批次 {batch} 没有打印任何面单",
    result_title: "打印结果",
    result_batch: "批次 {batch} · 第 {number} 次打印 · {at}",
    result_nothing: "批次 {batch} · 没有打印任何面单 · {at}",
    files: "文件",
    open_labels: "打开面单 PDF",
    open_labels_zpl: "下载 ZPL 面单",
    open_pick_list: "打开拣货单",
    links_expire: "链接 {minutes} 分钟内有效，过期后请重新打印。",
    no_files: "这次没有打印任何面单，没有文件。",
    printed_title: "已打印（{n}）",
    printed_caption: "已打印的面单（{n} 张）",
    printed_empty: "没有打印任何面单",
    held_title: "已拦截（{n}）",
    held_caption: "被拦截、未打印的面单（{n} 张）：这些订单不能发货",
    skipped_title: "已跳过（{n}）",
    skipped_caption: "本次跳过的包裹（{n} 个）",
    package: "包裹",
    tracking: "运单号",
    format: "格式",
    page_no: "页码",
    batches_title: "打印批次",
    batches_caption: "打印批次（最近 {n} 个）",
    batches_empty: "还没有打印批次",
    batch: "批次",
    batch_status: "状态",
    status_open: "未打印完",
    status_ready: "已完成",
    filters_col: "打印条件",
    labels_col: "面单数",
    created: "创建时间",
    prints_col: "打印次数",
    last_printed: "最近打印",
    actions: "操作",
    view_batch: "查看批次 {batch}",
    reprint: "重新打印",
    reprint_batch: "重新打印批次 {batch}",
    reprinting: "正在重新打印…",
    detail_title: "批次 {batch}",
    back: "返回打印批次",
    filters_field: "打印条件",
    label_format_field: "面单格式",
    packages_title: "包裹（{n}）",
    packages_caption: "批次中的包裹，按打印顺序（{n} 个）",
    skus_col: "SKU",
    left_out_title: "未放入批次（{n}）",
    left_out_caption: "选中但未放入批次的包裹（{n} 个）",
    prints_title: "打印记录（{n}）",
    prints_caption: "这个批次的每一次打印（{n} 次）",
    print_no: "第几次",
    printed_count: "打印张数",
    skipped_col: "跳过",
    first_print: "首次打印",
    reprint_no: "重新打印",
    none: "无",
    filter_ship_by: "最晚发货早于 {at}",
    filter_limit: "最多 {n} 张",
    any: "全部",
  },
  en: {
    title: "Batch printing",
    intro:
      "Choose which labels waiting to print to print (none chosen: all of them). Printed parcels move to To ship, waiting for their scan.",
    waiting: "Labels waiting to print: {n}",
    waiting_tab: "See the orders to print",
    form_label: "What to print",
    channels: "Channels (choose any)",
    stores: "Stores (choose any)",
    skus: "SKUs (separated by commas or spaces)",
    ship_by_before: "Ship by before",
    limit: "At most (1–1000 labels)",
    label_format: "Label format",
    format_default: "Each channel's own",
    format_pdf: "PDF (A4 / thermal printer driver)",
    format_zpl: "ZPL (Zebra thermal printer)",
    print: "Print batch",
    printing: "Printing…",
    printed_note: "Batch {batch} printed: {n} labels",
    reprinted_note: "Batch {batch} printed again (print no. {number}): {n} labels",
    nothing_printed_note: "Batch {batch}: no label was printed",
    result_title: "Printed",
    result_batch: "Batch {batch} · print no. {number} · {at}",
    result_nothing: "Batch {batch} · no label printed · {at}",
    files: "Files",
    open_labels: "Open the labels PDF",
    open_labels_zpl: "Download the ZPL labels",
    open_pick_list: "Open the pick list",
    links_expire: "The links work for {minutes} minutes; print again once they have expired.",
    no_files: "No label was printed this time, so there are no files.",
    printed_title: "Printed ({n})",
    printed_caption: "Labels printed ({n})",
    printed_empty: "No label was printed",
    held_title: "Held ({n})",
    held_caption: "Labels held back, not printed ({n}): these orders must not leave",
    skipped_title: "Skipped ({n})",
    skipped_caption: "Packages skipped this time ({n})",
    package: "Package",
    tracking: "Tracking no.",
    format: "Format",
    page_no: "Page",
    batches_title: "Print batches",
    batches_caption: "Print batches (the last {n})",
    batches_empty: "No batch printed yet",
    batch: "Batch",
    batch_status: "Status",
    status_open: "Not finished",
    status_ready: "Done",
    filters_col: "Criteria",
    labels_col: "Labels",
    created: "Created",
    prints_col: "Prints",
    last_printed: "Last printed",
    actions: "Actions",
    view_batch: "See batch {batch}",
    reprint: "Print again",
    reprint_batch: "Print batch {batch} again",
    reprinting: "Printing again…",
    detail_title: "Batch {batch}",
    back: "Back to the print batches",
    filters_field: "Criteria",
    label_format_field: "Label format",
    packages_title: "Packages ({n})",
    packages_caption: "The batch's packages, in print order ({n})",
    skus_col: "SKUs",
    left_out_title: "Left out ({n})",
    left_out_caption: "Packages chosen but left out of the batch ({n})",
    prints_title: "Prints ({n})",
    prints_caption: "Every print of this batch ({n})",
    print_no: "No.",
    printed_count: "Labels printed",
    skipped_col: "Skipped",
    first_print: "first print",
    reprint_no: "reprint",
    none: "none",
    filter_ship_by: "ship by before {at}",
    filter_limit: "at most {n} labels",
    any: "Any",
  },
};

function chosen(select) {
  return [...select.selectedOptions].map((o) => o.value).filter(Boolean);
}

// -- the print form --------------------------------------------------------------------------------------

function printForm(ctx, channels, stores) {
  const { h, t } = ctx;
  const field = (key, control) => {
    const id = uid(key);
    control.id = id;
    return [h("label", { for: id }, t(key)), control];
  };
  const channelSelect = h(
    "select",
    { multiple: true, size: String(Math.min(Math.max(channels.length, 2), 6)), testid: "print-channels" },
    channels.map((c) => h("option", { value: c.code }, c.name ? `${c.code} · ${c.name}` : c.code)),
  );
  const storeSelect = h(
    "select",
    { multiple: true, size: String(Math.min(Math.max(stores.length, 2), 6)), testid: "print-stores" },
    stores.map((s) => h("option", { value: s.store_id }, `${s.name} (${s.store_id})`)),
  );
  const skus = h("input", { type: "text", maxlength: "2000", autocomplete: "off", testid: "print-skus" });
  const shipBy = h("input", { type: "datetime-local", testid: "print-ship-by" });
  const limit = h("input", {
    type: "number",
    min: "1",
    max: String(MAX_LIMIT),
    step: "1",
    required: true,
    value: String(DEFAULT_LIMIT),
    testid: "print-limit",
  });
  const format = h(
    "select",
    { testid: "print-format" },
    h("option", { value: "" }, t("format_default")),
    h("option", { value: "pdf" }, t("format_pdf")),
    h("option", { value: "zpl" }, t("format_zpl")),
  );
  const button = h("button", { type: "submit", class: "primary", testid: "print-submit" }, t("print"));
  const form = h(
    "form",
    {
      class: "card form-grid",
      "aria-label": t("form_label"),
      testid: "print-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const request = {};
        const pickedChannels = chosen(channelSelect);
        const pickedStores = chosen(storeSelect);
        const pickedSkus = skus.value
          .split(/[\s,，;；]+/)
          .map((s) => s.trim())
          .filter(Boolean);
        if (pickedChannels.length) request.channels = pickedChannels;
        if (pickedStores.length) request.stores = pickedStores;
        if (pickedSkus.length) request.skus = [...new Set(pickedSkus)];
        const before = withLocalOffset(shipBy.value);
        if (before) request.ship_by_before = before;
        const n = Number.parseInt(limit.value, 10);
        request.limit = Number.isFinite(n) ? Math.min(Math.max(n, 1), MAX_LIMIT) : DEFAULT_LIMIT;
        if (format.value) request.label_format = format.value;
        button.disabled = true;
        button.textContent = t("printing");
        try {
          const batch = await ctx.api("POST", "/print-batches", request);
          remember(batch);
          ctx.notify(announce(ctx, batch));
          ctx.refreshTabs();
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          button.disabled = false;
          button.textContent = t("print");
        }
      },
    },
    field("channels", channelSelect),
    field("stores", storeSelect),
    field("skus", skus),
    field("ship_by_before", shipBy),
    field("limit", limit),
    field("label_format", format),
    h("div", { class: "actions" }, button),
  );
  return form;
}

function remember(batch) {
  const seconds = batch.files?.expires_in_s ?? 0;
  lastPrint = { batch, until: Date.now() + Math.max(seconds - 30, 0) * 1000 };
}

function announce(ctx, batch) {
  const n = batch.printed.length;
  if (!n) return ctx.t("nothing_printed_note", { batch: batch.batch_id });
  if (batch.print_number > 1) {
    return ctx.t("reprinted_note", { batch: batch.batch_id, number: batch.print_number, n });
  }
  return ctx.t("printed_note", { batch: batch.batch_id, n });
}

// -- what a print gave ----------------------------------------------------------------------------------

function fileLinks(ctx, files) {
  const { h, t } = ctx;
  if (!files) return h("p", { class: "empty", testid: "no-files" }, t("no_files"));
  const link = (url, testid, label) =>
    url ? h("a", { href: url, target: "_blank", rel: "noopener", testid, class: "button" }, label) : null;
  return [
    h(
      "p",
      { class: "actions", testid: "print-files" },
      link(files.labels_pdf_url, "open-labels", t("open_labels")),
      link(files.labels_zpl_url, "open-labels-zpl", t("open_labels_zpl")),
      link(files.pick_list_url, "open-pick-list", t("open_pick_list")),
    ),
    h(
      "p",
      { class: "muted" },
      t("links_expire", { minutes: Math.max(Math.floor(files.expires_in_s / 60), 1) }),
    ),
  ];
}

function printResult(ctx, batch) {
  const { h, t } = ctx;
  const skipped = Object.entries(batch.skipped || {});
  return h(
    "section",
    { class: "card", testid: "print-result", "aria-labelledby": "printing-result-title" },
    h("h3", { id: "printing-result-title" }, t("result_title")),
    h(
      "p",
      { testid: "print-result-batch" },
      batch.print_number > 0
        ? t("result_batch", {
            batch: batch.batch_id,
            number: batch.print_number,
            at: ctx.time(batch.printed_at),
          })
        : t("result_nothing", { batch: batch.batch_id, at: ctx.time(batch.printed_at) }),
    ),
    fileLinks(ctx, batch.files),
    h("h4", {}, t("printed_title", { n: batch.printed.length })),
    batch.printed.length
      ? table(
          t("printed_caption", { n: batch.printed.length }),
          "printed-labels",
          [
            [t("order")],
            [t("package")],
            [t("tracking")],
            [t("channel")],
            [t("format")],
            [t("page_no"), true],
          ],
          batch.printed.map((p) =>
            h(
              "tr",
              { testid: `printed-${p.package_id}` },
              h("td", {}, ctx.orderLink(p.order_id)),
              h("td", {}, p.package_id),
              h("td", {}, p.tracking_number),
              h("td", {}, p.channel_code),
              h("td", {}, p.label_format.toUpperCase()),
              h("td", { class: "num" }, p.page ?? ""),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("printed_empty")),
    batch.held.length
      ? [
          h("h4", {}, t("held_title", { n: batch.held.length })),
          table(
            t("held_caption", { n: batch.held.length }),
            "held-labels",
            [[t("order")], [t("package")], [t("reason")]],
            batch.held.map((p) =>
              h(
                "tr",
                { testid: `held-${p.package_id}` },
                h("td", {}, ctx.orderLink(p.order_id)),
                h("td", {}, p.package_id),
                h("td", {}, h("span", { class: "badge warn" }, p.reason)),
              ),
            ),
          ),
        ]
      : null,
    skipped.length
      ? [
          h("h4", {}, t("skipped_title", { n: skipped.length })),
          table(
            t("skipped_caption", { n: skipped.length }),
            "skipped-labels",
            [[t("package")], [t("reason")]],
            skipped.map(([packageId, why]) =>
              h("tr", { testid: `skipped-${packageId}` }, h("td", {}, packageId), h("td", {}, why)),
            ),
          ),
        ]
      : null,
  );
}

// -- batches ------------------------------------------------------------------------------------------------

function reprintButton(ctx, batchId) {
  const { h, t } = ctx;
  const button = h(
    "button",
    {
      type: "button",
      testid: `reprint-${batchId}`,
      "aria-label": t("reprint_batch", { batch: batchId }),
      onclick: async () => {
        button.disabled = true;
        button.textContent = t("reprinting");
        try {
          const batch = await ctx.api("POST", `/print-batches/${encodeURIComponent(batchId)}/print`);
          remember(batch);
          ctx.notify(announce(ctx, batch));
          ctx.refreshTabs();
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          button.disabled = false;
          button.textContent = t("reprint");
        }
      },
    },
    t("reprint"),
  );
  return button;
}

function statusBadge(ctx, status) {
  const { h, t } = ctx;
  return h(
    "span",
    { class: status === "ready" ? "badge ok" : "badge warn" },
    t(status === "ready" ? "status_ready" : "status_open"),
  );
}

function batchList(ctx, batches) {
  const { h, t } = ctx;
  return h(
    "section",
    { testid: "batches", "aria-labelledby": "printing-batches-title" },
    h("h3", { id: "printing-batches-title" }, t("batches_title")),
    batches.length
      ? table(
          t("batches_caption", { n: BATCHES_SHOWN }),
          "batch-list",
          [
            [t("batch")],
            [t("batch_status")],
            [t("filters_col")],
            [t("labels_col"), true],
            [t("created")],
            [t("by")],
            [t("prints_col"), true],
            [t("last_printed")],
            [t("actions")],
          ],
          batches.map((b) =>
            h(
              "tr",
              { testid: `batch-${b.batch_id}` },
              h(
                "td",
                {},
                h(
                  "a",
                  {
                    href: `#/print/${encodeURIComponent(b.batch_id)}`,
                    testid: `batch-link-${b.batch_id}`,
                    title: t("view_batch", { batch: b.batch_id }),
                  },
                  b.batch_id,
                ),
              ),
              h("td", {}, statusBadge(ctx, b.status)),
              h("td", {}, b.filters),
              h("td", { class: "num" }, b.labels),
              h("td", {}, ctx.time(b.created_at)),
              h("td", {}, b.created_by),
              h("td", { class: "num", testid: `batch-prints-${b.batch_id}` }, b.prints),
              h("td", {}, ctx.time(b.last_printed_at)),
              h("td", {}, reprintButton(ctx, b.batch_id)),
            ),
          ),
        )
      : h("p", { class: "empty", testid: "batches-empty" }, t("batches_empty")),
  );
}

function describeFilters(ctx, filters) {
  const parts = [];
  if (filters.channels?.length) parts.push(`${ctx.t("channel")}: ${filters.channels.join(", ")}`);
  if (filters.carriers?.length) parts.push(filters.carriers.join(", "));
  if (filters.stores?.length) parts.push(`${ctx.t("store")}: ${filters.stores.join(", ")}`);
  if (filters.skus?.length) parts.push(`${ctx.t("sku")}: ${filters.skus.join(", ")}`);
  if (filters.ship_by_before) parts.push(ctx.t("filter_ship_by", { at: ctx.time(filters.ship_by_before) }));
  if (filters.limit) parts.push(ctx.t("filter_limit", { n: filters.limit }));
  return parts.length ? parts.join(" · ") : ctx.t("any");
}

function batchDetail(ctx, batch) {
  const { h, t } = ctx;
  const leftOut = Object.entries(batch.left_out || {});
  const prints = batch.prints || [];
  const fact = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  return h(
    "section",
    { testid: "batch-detail", "aria-labelledby": "printing-detail-title" },
    h("h3", { id: "printing-detail-title" }, t("detail_title", { batch: batch.batch_id })),
    h(
      "dl",
      { class: "facts", testid: "batch-facts" },
      fact(t("batch_status"), statusBadge(ctx, batch.status)),
      fact(t("filters_field"), describeFilters(ctx, batch.filters || {})),
      fact(
        t("label_format_field"),
        batch.label_format ? batch.label_format.toUpperCase() : t("format_default"),
      ),
      fact(t("created"), ctx.time(batch.created_at)),
      fact(t("by"), batch.created_by),
    ),
    h("div", { class: "actions" }, reprintButton(ctx, batch.batch_id)),
    h("h4", {}, t("packages_title", { n: batch.packages.length })),
    table(
      t("packages_caption", { n: batch.packages.length }),
      "batch-packages",
      [[t("order")], [t("package")], [t("tracking")], [t("channel")], [t("skus_col")], [t("format")]],
      batch.packages.map((p) =>
        h(
          "tr",
          { testid: `batch-package-${p.package_id}` },
          h("td", {}, ctx.orderLink(p.order_id)),
          h("td", {}, p.package_id),
          h("td", {}, p.tracking_number),
          h("td", {}, p.channel_code),
          h("td", {}, p.skus.join(", ")),
          h("td", {}, p.label_format.toUpperCase()),
        ),
      ),
    ),
    leftOut.length
      ? [
          h("h4", {}, t("left_out_title", { n: leftOut.length })),
          table(
            t("left_out_caption", { n: leftOut.length }),
            "batch-left-out",
            [[t("package")], [t("reason")]],
            leftOut.map(([packageId, why]) => h("tr", {}, h("td", {}, packageId), h("td", {}, why))),
          ),
        ]
      : null,
    h("h4", {}, t("prints_title", { n: prints.length })),
    prints.length
      ? table(
          t("prints_caption", { n: prints.length }),
          "batch-prints",
          [[t("print_no"), true], [t("time")], [t("by")], [t("printed_count"), true], [t("skipped_col")]],
          prints.map((p) => {
            const skipped = Object.entries(p.skipped || {});
            return h(
              "tr",
              { testid: `batch-print-${p.number}` },
              h("td", { class: "num" }, `${p.number} (${t(p.number === 1 ? "first_print" : "reprint_no")})`),
              h("td", {}, ctx.time(p.at)),
              h("td", {}, p.by),
              h("td", { class: "num" }, p.printed.length),
              h(
                "td",
                {},
                skipped.length ? skipped.map(([id, why]) => `${id}: ${why}`).join("; ") : t("none"),
              ),
            );
          }),
        )
      : h("p", { class: "empty" }, t("none")),
  );
}

// -- the page -----------------------------------------------------------------------------------------------

async function waitingCount(ctx) {
  const answer = await ctx.api("GET", "/tabs");
  return answer.tabs.find((tab) => tab.status === "to_print")?.count ?? 0;
}

function waitingLine(ctx, n) {
  const { h, t } = ctx;
  return h(
    "p",
    { class: "toolbar" },
    h(
      "span",
      { class: n ? "badge warn" : "badge", testid: "waiting-count", "data-count": String(n) },
      t("waiting", { n }),
    ),
    h("a", { href: "#/orders/to_print", testid: "waiting-tab" }, t("waiting_tab")),
  );
}

function shownResult(ctx) {
  if (lastPrint && Date.now() > lastPrint.until) lastPrint = null;
  return lastPrint ? printResult(ctx, lastPrint.batch) : null;
}

async function render(root, ctx, params) {
  const { h, t } = ctx;
  const batchId = params[0];
  if (batchId) {
    const batch = await ctx.api("GET", `/print-batches/${encodeURIComponent(batchId)}`);
    if (!ctx.current || ctx.current()) {
      root.append(
        h("h2", {}, t("title")),
        h("p", {}, h("a", { href: "#/print", testid: "back-to-batches" }, t("back"))),
        shownResult(ctx),
        batchDetail(ctx, batch),
      );
    }
    return;
  }
  const [count, channels, stores, batches] = await Promise.all([
    waitingCount(ctx),
    ctx.api("GET", "/channels"),
    ctx.api("GET", "/stores"),
    ctx.api("GET", `/print-batches?limit=${BATCHES_SHOWN}`),
  ]);
  if (ctx.current && !ctx.current()) return;
  root.append(
    h("h2", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    waitingLine(ctx, count),
    printForm(
      ctx,
      channels.channels.map((c) => c.channel),
      stores.stores,
    ),
    shownResult(ctx),
    batchList(ctx, batches.batches),
  );
}

export default {
  route: "print",
  nav: { zh: "打印面单", en: "Print" },
  strings,
  render,
};
