// 店铺: every store, its marketplace and how its last sync went (正常, 已暂停, 授权失效, 同步失败), and
// 立即同步 for one store or all of them: the sync is queued and runs in the background.

// What the last sync-now queued, shown once by the re-render that follows it.
let flash = null; // { queued: [...] }

const STATES = {
  ok: "badge ok",
  paused: "badge warn",
  credentials_rejected: "badge bad",
  failing: "badge bad",
};

const strings = {
  zh: {
    title: "店铺",
    intro: "每个店铺的订单同步情况。立即同步会把店铺加入同步队列，稍后刷新即可看到结果。",
    caption: "店铺（{n} 个）",
    empty: "还没有店铺",
    name: "店铺名称",
    store_id: "店铺ID",
    marketplace: "平台",
    health: "同步状态",
    detail: "说明",
    last_run: "最近同步",
    last_success: "最近成功",
    actions: "操作",
    amazon: "亚马逊",
    aliexpress: "速卖通",
    state_ok: "正常",
    state_paused: "已暂停（平台限流，下次从断点继续）",
    state_credentials_rejected: "授权失效（请重新授权店铺）",
    state_failing: "同步失败（将按计划重试）",
    state_never: "尚未同步",
    never: "从未",
    sync: "立即同步",
    sync_store: "立即同步 {store}",
    sync_all: "全部店铺立即同步",
    syncing: "正在加入队列…",
    queued: "已加入同步队列：{stores}",
    queued_none: "没有店铺加入同步队列",
  },
  en: {
    title: "Stores",
    intro:
      "How each store's order sync went. Sync now queues the store: refresh in a moment to see how it went.",
    caption: "Stores ({n})",
    empty: "No store yet",
    name: "Store name",
    store_id: "Store id",
    marketplace: "Marketplace",
    health: "Sync",
    detail: "Detail",
    last_run: "Last run",
    last_success: "Last success",
    actions: "Actions",
    amazon: "Amazon",
    aliexpress: "AliExpress",
    state_ok: "OK",
    state_paused: "Paused (rate limited: the next run resumes where it stopped)",
    state_credentials_rejected: "Credentials rejected (authorise the store again)",
    state_failing: "Failing (retried on schedule)",
    state_never: "Never synced",
    never: "never",
    sync: "Sync now",
    sync_store: "Sync {store} now",
    sync_all: "Sync every store now",
    syncing: "Queuing…",
    queued: "Queued for a sync: {stores}",
    queued_none: "No store was queued",
  },
};

function marketplaceName(ctx, marketplace) {
  return marketplace === "amazon" || marketplace === "aliexpress" ? ctx.t(marketplace) : marketplace;
}

function healthBadge(ctx, store) {
  const { h, t } = ctx;
  const state = store.health?.state;
  return h(
    "span",
    { class: STATES[state] || "badge", testid: `health-${store.store_id}`, "data-state": state || "never" },
    t(state ? `state_${state}` : "state_never"),
  );
}

function syncButton(ctx, storeIds, testid, label, ariaLabel, primary) {
  const { h, t } = ctx;
  const button = h(
    "button",
    {
      type: "button",
      class: primary ? "primary" : null,
      testid,
      "aria-label": ariaLabel,
      onclick: async () => {
        button.disabled = true;
        button.textContent = t("syncing");
        try {
          const answer = await ctx.api("POST", "/stores/sync-now", { store_ids: storeIds });
          flash = { queued: answer.queued };
          ctx.notify(
            answer.queued.length ? t("queued", { stores: answer.queued.join(", ") }) : t("queued_none"),
          );
          ctx.rerender();
        } catch (err) {
          ctx.fail(err);
          button.disabled = false;
          button.textContent = label;
        }
      },
    },
    label,
  );
  return button;
}

function storeTable(ctx, stores) {
  const { h, t } = ctx;
  const headers = [
    t("name"),
    t("store_id"),
    t("marketplace"),
    t("health"),
    t("detail"),
    t("last_run"),
    t("last_success"),
    t("actions"),
  ];
  return h(
    "table",
    { class: "table", testid: "store-list" },
    h("caption", {}, t("caption", { n: stores.length })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((label) => h("th", { scope: "col" }, label)),
      ),
    ),
    h(
      "tbody",
      {},
      stores.map((s) =>
        h(
          "tr",
          { testid: `store-${s.store_id}` },
          h("td", {}, s.name),
          h("td", {}, h("code", {}, s.store_id)),
          h("td", { testid: `marketplace-${s.store_id}` }, marketplaceName(ctx, s.marketplace)),
          h("td", {}, healthBadge(ctx, s)),
          h("td", { testid: `detail-${s.store_id}` }, s.health?.detail || ""),
          h(
            "td",
            { testid: `last-run-${s.store_id}` },
            s.health?.last_run_at ? ctx.time(s.health.last_run_at) : t("never"),
          ),
          h(
            "td",
            { testid: `last-success-${s.store_id}` },
            s.health?.last_success_at ? ctx.time(s.health.last_success_at) : t("never"),
          ),
          h(
            "td",
            {},
            syncButton(
              ctx,
              [s.store_id],
              `sync-${s.store_id}`,
              t("sync"),
              t("sync_store", { store: s.name }),
              false,
            ),
          ),
        ),
      ),
    ),
  );
}

async function render(root, ctx) {
  const { h, t } = ctx;
  const shown = flash;
  flash = null;
  const answer = await ctx.api("GET", "/stores");
  if (ctx.current && !ctx.current()) return;
  const stores = answer.stores;
  root.append(
    h("h2", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    h(
      "div",
      { class: "toolbar" },
      stores.length ? syncButton(ctx, [], "sync-all", t("sync_all"), null, true) : null,
      h("button", { type: "button", testid: "refresh", onclick: () => ctx.rerender() }, t("refresh")),
    ),
    shown
      ? h(
          "p",
          {
            class: shown.queued.length ? "result-ok" : "muted",
            testid: "sync-result",
            "data-queued": shown.queued.join(" "),
          },
          shown.queued.length ? t("queued", { stores: shown.queued.join(", ") }) : t("queued_none"),
        )
      : null,
    stores.length ? storeTable(ctx, stores) : h("p", { class: "empty", testid: "stores-empty" }, t("empty")),
  );
}

export default {
  route: "stores",
  nav: { zh: "店铺", en: "Stores" },
  strings,
  render,
};
