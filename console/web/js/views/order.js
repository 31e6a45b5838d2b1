// One order: its lines and pairing, address, packages (declaration, waybill, label), history; and the
// repairs an operator makes here: fix a rejected address and send it again, split a package, attach a
// tracking number by hand, the seller's note, print or reprint a label.

const EDITABLE = new Set(["pending_processing", "waybill_failed"]); // no carrier has seen the package yet
const ADDRESS_FIELDS = [
  "name",
  "company",
  "line1",
  "line2",
  "city",
  "province",
  "postcode",
  "phone",
  "email",
];
const CLOSED = new Set(["shipped", "confirmed", "cancelled"]);

const strings = {
  zh: {
    title: "订单 {id}",
    back: "返回列表",
    facts: "订单信息",
    platform_order: "平台订单号",
    marketplace: "平台",
    platform_status: "平台状态",
    ordered_at: "下单时间",
    ship_by: "最晚发货",
    late: "已超时",
    total: "订单金额",
    buyer_note: "买家留言",
    waiting_for: "等待",
    tags: "标签",
    flags: "标记",
    lines: "商品与配对",
    line: "订单行",
    platform_sku: "平台 SKU",
    title_col: "名称",
    unit_price: "单价",
    paired_to: "配对到仓库 SKU",
    unpaired: "未配对",
    address: "收货地址",
    address_form: "修改地址（修改后重新申请运单号）",
    address_saved: "地址已更新：重新申请 {n} 个包裹的运单号",
    address_unchanged: "没有修改任何字段",
    f_name: "收件人",
    f_company: "公司",
    f_line1: "地址 1",
    f_line2: "地址 2",
    f_city: "城市",
    f_province: "州/省",
    f_postcode: "邮编",
    f_phone: "电话",
    f_email: "邮箱",
    country: "国家",
    save_address: "保存并重新申请",
    seller_note: "卖家备注（打印在面单上）",
    save_note: "保存备注",
    note_saved: "卖家备注已保存",
    packages: "包裹",
    package: "包裹 {seq}",
    weight: "重量",
    size: "尺寸",
    freight: "运费",
    freight_estimate: "预估运费",
    waybill: "运单号",
    tracking: "跟踪号",
    failure: "失败原因",
    declaration: "报关信息",
    name_en: "英文品名",
    name_local: "中文品名",
    unit_value: "申报单价",
    unit_weight: "单件重量",
    hs_code: "海关编码",
    origin: "原产地",
    label: "面单",
    label_preview: "包裹 {seq} 的面单预览",
    open_label: "打开面单 PDF",
    print_label: "打印面单",
    reprint_label: "重新打印",
    printed: "已打印 {n} 次",
    label_ready: "面单已生成：{tracking}",
    manual_tracking: "手动上传跟踪号",
    tracking_number: "跟踪号",
    carrier_pdf: "承运商面单 PDF（可选）",
    attach: "上传",
    attached: "包裹 {id} 已上传跟踪号",
    not_pdf: "所选文件不是 PDF",
    split: "拆包",
    split_help: "每列是一个新包裹：填入放进该包裹的件数，其余的留在最后一个包裹。",
    split_into: "包裹 {n}",
    units_for: "{line} 放入包裹 {n} 的件数",
    add_group: "再加一个包裹",
    split_channel: "新包裹的物流渠道（默认不变）",
    do_split: "拆分",
    split_done: "已拆成 {n} 个包裹",
    split_empty: "请至少为一个包裹填入件数",
    retry: "重新申请运单号",
    retried: "重新申请：{n} 个包裹",
    history: "订单历史",
    package_history: "包裹历史",
    from_to: "状态变化",
    actions: "操作",
    note: "备注（写入订单历史）",
    approve: "审核通过",
    hold: "搁置",
    release: "解除搁置",
    cancel_order: "取消订单",
    confirm_cancel: "确认取消此订单",
    note_needed: "请填写原因",
    action_done: "{action}：{detail}",
    g: "克",
    items: "商品",
    none: "无",
  },
  en: {
    title: "Order {id}",
    back: "Back to the list",
    facts: "Order",
    platform_order: "Platform order",
    marketplace: "Marketplace",
    platform_status: "Platform status",
    ordered_at: "Ordered",
    ship_by: "Ship by",
    late: "late",
    total: "Total",
    buyer_note: "Buyer's note",
    waiting_for: "Waiting for",
    tags: "Tags",
    flags: "Flags",
    lines: "Lines and pairing",
    line: "Line",
    platform_sku: "Platform SKU",
    title_col: "Title",
    unit_price: "Unit price",
    paired_to: "Paired to warehouse SKU",
    unpaired: "unpaired",
    address: "Shipping address",
    address_form: "Correct the address (the waybill is requested again)",
    address_saved: "Address corrected: {n} package(s) sent to the carrier again",
    address_unchanged: "Nothing was changed",
    f_name: "Name",
    f_company: "Company",
    f_line1: "Address line 1",
    f_line2: "Address line 2",
    f_city: "City",
    f_province: "State / province",
    f_postcode: "Postcode",
    f_phone: "Phone",
    f_email: "Email",
    country: "Country",
    save_address: "Save and send again",
    seller_note: "Seller's note (printed on the labels)",
    save_note: "Save note",
    note_saved: "Seller's note saved",
    packages: "Packages",
    package: "Package {seq}",
    weight: "Weight",
    size: "Size",
    freight: "Freight",
    freight_estimate: "Estimated freight",
    waybill: "Waybill",
    tracking: "Tracking number",
    failure: "Why it failed",
    declaration: "Customs declaration",
    name_en: "Name (English)",
    name_local: "Name (Chinese)",
    unit_value: "Unit value",
    unit_weight: "Unit weight",
    hs_code: "HS code",
    origin: "Origin",
    label: "Label",
    label_preview: "Label of package {seq}",
    open_label: "Open the label PDF",
    print_label: "Print label",
    reprint_label: "Reprint",
    printed: "printed {n} time(s)",
    label_ready: "Label ready: {tracking}",
    manual_tracking: "Attach a tracking number by hand",
    tracking_number: "Tracking number",
    carrier_pdf: "The carrier's label PDF (optional)",
    attach: "Attach",
    attached: "Tracking number attached to {id}",
    not_pdf: "The file chosen is not a PDF",
    split: "Split the package",
    split_help:
      "Each column is a new package: the units of each line that go in it; the rest stays in the last package.",
    split_into: "Package {n}",
    units_for: "Units of {line} in package {n}",
    add_group: "Add a package",
    split_channel: "Channel of the new packages (unchanged when empty)",
    do_split: "Split",
    split_done: "Split into {n} packages",
    split_empty: "Give units for at least one package",
    retry: "Request the waybill again",
    retried: "Sent again: {n} package(s)",
    history: "History",
    package_history: "Package history",
    from_to: "Change",
    actions: "Actions",
    note: "Note (written to the order's history)",
    approve: "Approve",
    hold: "Hold",
    release: "Release",
    cancel_order: "Cancel the order",
    confirm_cancel: "Yes, cancel this order",
    note_needed: "Say why",
    action_done: "{action}: {detail}",
    g: "g",
    items: "Items",
    none: "none",
  },
};

function facts(ctx, pairs) {
  const { h } = ctx;
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .filter(([, value]) => !Array.isArray(value) || value.some((v) => v !== null && v !== ""))
      .flatMap(([term, value, testid]) => [h("dt", {}, term), h("dd", { testid }, value)]),
  );
}

function historyTable(ctx, caption, entries, testid) {
  const { h, t } = ctx;
  return h(
    "table",
    { class: "table", testid },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["time", "from_to", "reason", "by"].map((k) => h("th", { scope: "col" }, t(k))),
      ),
    ),
    h(
      "tbody",
      {},
      [...entries]
        .reverse()
        .map((e) =>
          h(
            "tr",
            {},
            h("td", {}, ctx.time(e.at)),
            h(
              "td",
              {},
              e.from_status ? `${ctx.statusLabel(e.from_status)} → ` : "",
              ctx.statusLabel(e.to_status),
            ),
            h("td", {}, e.reason),
            h("td", {}, e.by),
          ),
        ),
    ),
  );
}

async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

function orderActions(ctx, order) {
  const { h, t, uid } = ctx;
  const id = uid("order-note");
  const note = h("input", { id, maxlength: "500", size: "36", testid: "order-note" });
  const confirmRow = h("div", { class: "actions" });
  const act = (action, label) => async () => {
    const why = note.value.trim() || (action === "approve" || action === "release" ? label : "");
    if (!why) {
      ctx.notify(t("note_needed"), "error");
      note.focus();
      return;
    }
    try {
      const answer = await ctx.api("POST", `/orders/actions/${action}`, {
        order_ids: [order.order_id],
        note: why,
      });
      const result = answer.results[0];
      ctx.notify(t("action_done", { action: label, detail: result.detail }), result.ok ? "ok" : "error");
      ctx.refreshTabs();
      ctx.rerender();
    } catch (err) {
      ctx.fail(err);
    }
  };
  const buttons = [];
  if (order.status === "pending_review") buttons.push(["approve", t("approve")]);
  if (order.status === "on_hold") buttons.push(["release", t("release")]);
  if (order.status !== "on_hold" && !CLOSED.has(order.status)) buttons.push(["hold", t("hold")]);
  const cancellable = !CLOSED.has(order.status);
  return h(
    "section",
    { class: "card", "aria-label": t("actions") },
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: id }, t("note"), note),
      buttons.map(([action, label]) =>
        h(
          "button",
          {
            type: "button",
            class: action === "approve" ? "primary" : null,
            testid: `order-${action}`,
            onclick: act(action, label),
          },
          label,
        ),
      ),
      cancellable
        ? h(
            "button",
            {
              type: "button",
              class: "danger",
              testid: "order-cancel",
              onclick: () =>
                confirmRow.replaceChildren(
                  h(
                    "button",
                    {
                      type: "button",
                      class: "danger",
                      testid: "confirm-cancel",
                      onclick: act("cancel", t("cancel_order")),
                    },
                    t("confirm_cancel"),
                  ),
                ),
            },
            t("cancel_order"),
          )
        : null,
      order.packages.some((p) => p.status === "waybill_failed")
        ? h(
            "button",
            {
              type: "button",
              testid: "retry",
              onclick: (event) =>
                busy(event.currentTarget, async () => {
                  try {
                    const outcome = await ctx.api(
                      "POST",
                      `/orders/${encodeURIComponent(order.order_id)}/retry`,
                    );
                    ctx.notify(t("retried", { n: outcome.retried_packages.length }));
                    ctx.refreshTabs();
                    ctx.rerender();
                  } catch (err) {
                    ctx.fail(err);
                  }
                }),
            },
            t("retry"),
          )
        : null,
    ),
    confirmRow,
  );
}

function linesTable(ctx, order) {
  const { h, t } = ctx;
  const pairing = new Map((order.pairing || []).map((p) => [p.line_id, p]));
  return h(
    "table",
    { class: "table", testid: "order-lines" },
    h("caption", {}, t("lines")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["platform_sku", "title_col", "quantity", "unit_price", "paired_to"].map((k) =>
          h("th", { scope: "col" }, t(k)),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      order.lines.map((line) => {
        const paired = pairing.get(line.line_id);
        return h(
          "tr",
          { testid: `line-${line.line_id}` },
          h("td", {}, line.sku),
          h("td", {}, line.title),
          h("td", { class: "num" }, String(line.quantity)),
          h("td", { class: "num" }, ctx.money(line.unit_price)),
          h(
            "td",
            {},
            paired
              ? Object.entries(paired.warehouse).map(([sku, n]) =>
                  h("span", { class: "badge ok" }, `${sku} × ${n}`),
                )
              : h("span", { class: "badge warn" }, t("unpaired")),
          ),
        );
      }),
    ),
  );
}

function addressSection(ctx, order) {
  const { h, t, uid } = ctx;
  const address = order.address || {};
  const inputs = {};
  const rows = ADDRESS_FIELDS.map((name) => {
    const id = uid(`address-${name}`);
    inputs[name] = h("input", {
      id,
      name,
      value: address[name] || "",
      maxlength: "200",
      testid: `address-${name}`,
    });
    return [h("label", { for: id }, t(`f_${name}`)), inputs[name]];
  });
  const submit = h("button", { type: "submit", class: "primary", testid: "save-address" }, t("save_address"));
  const form = h(
    "form",
    {
      class: "form-grid",
      testid: "address-form",
      "aria-label": t("address_form"),
      onsubmit: (event) => {
        event.preventDefault();
        const changes = {};
        for (const name of ADDRESS_FIELDS) {
          const value = inputs[name].value.trim();
          if (value !== (address[name] || "")) changes[name] = value || null;
        }
        for (const [k, v] of Object.entries(changes)) if (v === null) delete changes[k];
        if (!Object.keys(changes).length) {
          ctx.notify(t("address_unchanged"), "error");
          return;
        }
        busy(submit, async () => {
          try {
            const base = `/orders/${encodeURIComponent(order.order_id)}`;
            const answer = await ctx.api("POST", `${base}/address`, changes);
            let sent = answer.reissued.length;
            // A package the carrier refused has no waybill to reissue: the fixed address is sent to the
            // carrier by a retry, in the same step, since that is what the operator fixed it for.
            if (!answer.restarted && order.packages.some((p) => p.status === "waybill_failed")) {
              sent += (await ctx.api("POST", `${base}/retry`)).retried_packages.length;
            }
            ctx.notify(t("address_saved", { n: sent }));
            ctx.refreshTabs();
            ctx.rerender();
          } catch (err) {
            ctx.fail(err);
          }
        });
      },
    },
    rows,
    h("span", { class: "muted" }, t("country")),
    h("span", { testid: "address-country" }, address.country_code || ""),
    h("div", { class: "actions" }, submit),
  );
  return h(
    "section",
    { class: "card" },
    h("h3", {}, t("address")),
    h("p", { class: "muted" }, t("address_form")),
    form,
  );
}

function sellerNote(ctx, order) {
  const { h, t, uid } = ctx;
  const id = uid("seller-note");
  const text = h("textarea", { id, rows: "2", cols: "50", maxlength: "2000", testid: "seller-note" });
  text.value = order.seller_note || "";
  const submit = h("button", { type: "submit", testid: "save-seller-note" }, t("save_note"));
  return h(
    "form",
    {
      class: "card stack",
      onsubmit: (event) => {
        event.preventDefault();
        busy(submit, async () => {
          try {
            await ctx.api("PUT", `/orders/${encodeURIComponent(order.order_id)}/seller-note`, {
              note: text.value.trim(),
            });
            ctx.notify(t("note_saved"));
            ctx.rerender();
          } catch (err) {
            ctx.fail(err);
          }
        });
      },
    },
    h("label", { for: id }, t("seller_note"), text),
    h("div", { class: "actions" }, submit),
  );
}

function declarationTable(ctx, pkg) {
  const { h, t } = ctx;
  return h(
    "table",
    { class: "table", testid: `declaration-${pkg.package_id}` },
    h("caption", {}, t("declaration")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["sku", "name_en", "name_local", "quantity", "unit_value", "unit_weight", "hs_code", "origin"].map(
          (k) => h("th", { scope: "col" }, t(k)),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      pkg.declaration.map((d) =>
        h(
          "tr",
          {},
          h("td", {}, d.sku),
          h("td", {}, d.name_en),
          h("td", {}, d.name_local),
          h("td", { class: "num" }, String(d.quantity)),
          h("td", { class: "num" }, ctx.money(d.unit_value)),
          h("td", { class: "num" }, `${d.unit_weight_g} ${t("g")}`),
          h("td", {}, d.hs_code || t("none")),
          h("td", {}, d.origin || ""),
        ),
      ),
    ),
  );
}

function labelPart(ctx, order, pkg) {
  const { h, t } = ctx;
  if (!pkg.label_key && !pkg.label_url) return null;
  const printOne = h(
    "button",
    {
      type: "button",
      testid: `print-${pkg.package_id}`,
      onclick: (event) =>
        busy(event.currentTarget, async () => {
          try {
            const path = `/orders/${encodeURIComponent(order.order_id)}/packages/${encodeURIComponent(pkg.package_id)}/print`;
            const printed = await ctx.api("POST", path, {});
            ctx.notify(t("label_ready", { tracking: printed.tracking_number }));
            window.open(printed.url, "_blank", "noopener");
            ctx.refreshTabs();
            ctx.rerender();
          } catch (err) {
            ctx.fail(err);
          }
        }),
    },
    pkg.print_count ? t("reprint_label") : t("print_label"),
  );
  return h(
    "div",
    {},
    h("h4", {}, t("label")),
    h(
      "div",
      { class: "actions" },
      printOne,
      pkg.label_url
        ? h(
            "a",
            {
              href: pkg.label_url,
              target: "_blank",
              rel: "noopener",
              testid: `open-label-${pkg.package_id}`,
            },
            t("open_label"),
          )
        : null,
      pkg.print_count ? h("span", { class: "muted" }, t("printed", { n: pkg.print_count })) : null,
    ),
    pkg.label_url
      ? h("iframe", {
          class: "label-preview",
          src: pkg.label_url,
          title: t("label_preview", { seq: pkg.seq }),
          testid: `label-preview-${pkg.package_id}`,
        })
      : null,
  );
}

function trackingForm(ctx, order, pkg) {
  const { h, t, uid } = ctx;
  if (!EDITABLE.has(pkg.status)) return null;
  const numberId = uid("tracking");
  const fileId = uid("carrier-pdf");
  const number = h("input", {
    id: numberId,
    required: true,
    maxlength: "64",
    testid: `tracking-number-${pkg.package_id}`,
  });
  const file = h("input", {
    id: fileId,
    type: "file",
    accept: "application/pdf",
    testid: `carrier-pdf-${pkg.package_id}`,
  });
  const submit = h("button", { type: "submit", testid: `attach-${pkg.package_id}` }, t("attach"));
  return h(
    "form",
    {
      class: "toolbar",
      testid: `tracking-form-${pkg.package_id}`,
      "aria-label": t("manual_tracking"),
      onsubmit: (event) => {
        event.preventDefault();
        busy(submit, async () => {
          const body = { tracking_number: number.value.trim() };
          try {
            const chosen = file.files?.[0];
            if (chosen) {
              const bytes = new Uint8Array(await chosen.arrayBuffer());
              if (String.fromCharCode(...bytes.slice(0, 5)) !== "%PDF-") {
                ctx.notify(t("not_pdf"), "error");
                return;
              }
              body.label_pdf_base64 = base64(bytes);
            }
            const path = `/orders/${encodeURIComponent(order.order_id)}/packages/${encodeURIComponent(pkg.package_id)}/tracking`;
            await ctx.api("POST", path, body);
            ctx.notify(t("attached", { id: pkg.package_id }));
            ctx.refreshTabs();
            ctx.rerender();
          } catch (err) {
            ctx.fail(err);
          }
        });
      },
    },
    h("label", { for: numberId }, t("tracking_number"), number),
    h("label", { for: fileId }, t("carrier_pdf"), file),
    submit,
  );
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function packageCard(ctx, order, pkg) {
  const { h, t } = ctx;
  const size = pkg.size_cm
    ? `${pkg.size_cm.length_cm} × ${pkg.size_cm.width_cm} × ${pkg.size_cm.height_cm} cm`
    : null;
  return h(
    "section",
    { class: "card", testid: `package-${pkg.package_id}`, "aria-label": t("package", { seq: pkg.seq }) },
    h(
      "h3",
      {},
      t("package", { seq: pkg.seq }),
      " ",
      h(
        "span",
        {
          class: pkg.status === "waybill_failed" ? "badge bad" : "badge",
          testid: `package-status-${pkg.package_id}`,
        },
        ctx.statusLabel(pkg.status),
      ),
    ),
    facts(ctx, [
      [t("channel"), pkg.channel_code],
      [t("weight"), `${pkg.weight_g} ${t("g")}`],
      [t("size"), size],
      [
        t("items"),
        pkg.lines.map((l) => `${l.sku} × ${l.quantity}`).join(", "),
        `package-lines-${pkg.package_id}`,
      ],
      [t("waybill"), pkg.waybill_number, `waybill-${pkg.package_id}`],
      [t("tracking"), pkg.tracking_number, `tracking-${pkg.package_id}`],
      [t("freight"), ctx.money(pkg.freight)],
      [t("freight_estimate"), pkg.freight ? null : ctx.money(pkg.freight_estimate)],
      [
        t("failure"),
        pkg.failure_reason ? h("span", { class: "error" }, pkg.failure_reason) : null,
        `failure-${pkg.package_id}`,
      ],
    ]),
    pkg.declaration?.length ? declarationTable(ctx, pkg) : null,
    labelPart(ctx, order, pkg),
    trackingForm(ctx, order, pkg),
    pkg.history?.length
      ? historyTable(ctx, t("package_history"), pkg.history, `package-history-${pkg.package_id}`)
      : null,
  );
}

function splitForm(ctx, order) {
  const { h, t, uid } = ctx;
  if (!order.packages.length || !order.packages.every((p) => EDITABLE.has(p.status))) return null;
  const lines = order.lines;
  const columns = [];
  const table = h("table", { class: "table", testid: "split-table" });
  const channelId = uid("split-channel");
  const channel = h("input", { id: channelId, maxlength: "64", size: "14", testid: "split-channel" });
  const draw = () => {
    table.replaceChildren(
      h("caption", {}, t("split")),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, t("line")),
          h("th", { scope: "col" }, t("quantity")),
          columns.map((_, i) => h("th", { scope: "col" }, t("split_into", { n: i + 1 }))),
        ),
      ),
      h(
        "tbody",
        {},
        lines.map((line) =>
          h(
            "tr",
            {},
            h("td", {}, `${line.sku} — ${line.title}`),
            h("td", { class: "num" }, String(line.quantity)),
            columns.map((column) => h("td", {}, column.get(line.line_id))),
          ),
        ),
      ),
    );
  };
  const addColumn = () => {
    const n = columns.length + 1;
    const column = new Map(
      lines.map((line) => [
        line.line_id,
        h("input", {
          type: "number",
          min: "0",
          max: String(line.quantity),
          value: "0",
          size: "4",
          "aria-label": t("units_for", { line: line.sku, n }),
          testid: `split-${n}-${line.sku}`,
        }),
      ]),
    );
    columns.push(column);
    draw();
  };
  addColumn();
  const submit = h("button", { type: "submit", class: "primary", testid: "do-split" }, t("do_split"));
  return h(
    "form",
    {
      class: "card",
      testid: "split-form",
      "aria-label": t("split"),
      onsubmit: (event) => {
        event.preventDefault();
        const groups = columns
          .map((column) =>
            Object.fromEntries(
              [...column].map(([lineId, input]) => [lineId, Number(input.value)]).filter(([, n]) => n > 0),
            ),
          )
          .filter((group) => Object.keys(group).length);
        if (!groups.length) {
          ctx.notify(t("split_empty"), "error");
          return;
        }
        const body = { groups };
        if (channel.value.trim()) body.channel = channel.value.trim();
        busy(submit, async () => {
          try {
            const answer = await ctx.api("POST", `/orders/${encodeURIComponent(order.order_id)}/split`, body);
            ctx.notify(t("split_done", { n: answer.packages.length }));
            ctx.refreshTabs();
            ctx.rerender();
          } catch (err) {
            ctx.fail(err);
          }
        });
      },
    },
    h("h3", {}, t("split")),
    h("p", { class: "muted" }, t("split_help")),
    table,
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", testid: "add-split-group", onclick: addColumn }, t("add_group")),
      h("label", { for: channelId }, t("split_channel"), channel),
      submit,
    ),
  );
}

async function render(root, ctx, params) {
  const { h, t } = ctx;
  const orderId = params[0];
  const order = await ctx.api("GET", `/orders/${encodeURIComponent(orderId)}`);
  if (!ctx.current()) return;
  // Through h(), not root.append(): a missing part (null) is skipped and a list of packages is flattened.
  root.append(
    h(
      "div",
      { class: "order-detail" },
      h("p", {}, h("a", { href: `#/orders/${order.status}`, testid: "back-to-list" }, `← ${t("back")}`)),
      h(
        "h2",
        { tabindex: "-1", testid: "view-title" },
        t("title", { id: order.order_id }),
        " ",
        h("span", { class: "badge", testid: "order-status" }, ctx.statusLabel(order.status)),
      ),
      orderActions(ctx, order),
      h(
        "div",
        { class: "columns" },
        h(
          "section",
          { class: "card" },
          h("h3", {}, t("facts")),
          facts(ctx, [
            [t("store"), order.store_id],
            [t("marketplace"), order.marketplace],
            [t("platform_order"), order.platform_order_id],
            [t("platform_status"), order.platform_status],
            [t("ordered_at"), ctx.time(order.ordered_at)],
            [
              t("ship_by"),
              order.ship_by
                ? [ctx.time(order.ship_by), order.late ? h("span", { class: "badge bad" }, t("late")) : null]
                : null,
            ],
            [t("channel"), order.channel_code],
            [t("total"), ctx.money(order.total)],
            [t("buyer_note"), order.buyer_note, "buyer-note"],
            [t("waiting_for"), order.waiting_for.join(", ")],
            [t("tags"), order.tags.join(", ")],
            [
              t("flags"),
              Object.entries(order.flags || {})
                .filter(([, v]) => v)
                .map(([k, v]) => h("span", { class: "badge" }, v === true ? k : `${k}: ${v}`)),
            ],
          ]),
          sellerNote(ctx, order),
        ),
        addressSection(ctx, order),
      ),
      linesTable(ctx, order),
      h("h3", {}, t("packages")),
      order.packages.length
        ? order.packages.map((pkg) => packageCard(ctx, order, pkg))
        : h("p", { class: "empty" }, t("nothing")),
      splitForm(ctx, order),
      historyTable(ctx, t("history"), order.history, "order-history"),
    ),
  );
}

export default { route: "order", nav: { zh: "订单详情", en: "Order" }, strings, render };
