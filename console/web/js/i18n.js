// The console's words in Chinese (the default, as the ERP's operators read them) and English. Every
// status carries the ERP's own term, so an operator moving from 店小秘 finds the tab they know.

export const LANGUAGES = { zh: "中文", en: "English" };
const KEY = "parcelflow.lang";

export const STATUS = {
  zh: {
    awaiting_payment: "待付款",
    pending_review: "待审核",
    needs_pairing: "未配对",
    out_of_stock: "缺货",
    on_hold: "搁置",
    pending_processing: "待处理",
    waybill_requested: "运单号申请中",
    waybill_failed: "申请失败",
    to_print: "待打印",
    awaiting_scan: "待发货",
    shipped: "已发货",
    confirmed: "已确认发货",
    cancelled: "已取消",
  },
  en: {
    awaiting_payment: "Awaiting payment",
    pending_review: "To review",
    needs_pairing: "Unpaired",
    out_of_stock: "Out of stock",
    on_hold: "On hold",
    pending_processing: "To process",
    waybill_requested: "Waybill requested",
    waybill_failed: "Waybill failed",
    to_print: "To print",
    awaiting_scan: "To ship",
    shipped: "Shipped",
    confirmed: "Shipment confirmed",
    cancelled: "Cancelled",
  },
};

export const COMMON = {
  zh: {
    app_title: "Parcelflow 订单处理",
    loading: "加载中…",
    sign_in_title: "登录",
    user_name: "用户名",
    password: "密码",
    sign_in: "登录",
    signing_in: "正在登录…",
    new_password_title: "请设置新密码",
    new_password: "新密码（至少 12 位）",
    set_password: "设置密码",
    sign_out: "退出",
    signed_in_as: "当前用户：{name}",
    language: "语言",
    session_expired: "登录已过期，请重新登录",
    config_missing: "无法读取 config.json：{reason}",
    sign_in_failed: "登录失败：{reason}",
    nav_label: "主导航",
    orders: "订单",
    tabs_label: "订单状态",
    not_found: "没有这个页面：{path}",
    failed: "出错了：{reason}",
    dismiss: "关闭",
    nothing: "暂无数据",
    refresh: "刷新",
    save: "保存",
    cancel: "取消",
    yes: "是",
    no: "否",
    status: "状态",
    order: "订单",
    store: "店铺",
    channel: "物流渠道",
    country: "国家",
    sku: "SKU",
    quantity: "数量",
    reason: "原因",
    time: "时间",
    by: "操作人",
  },
  en: {
    app_title: "Parcelflow orders",
    loading: "Loading…",
    sign_in_title: "Sign in",
    user_name: "User name",
    password: "Password",
    sign_in: "Sign in",
    signing_in: "Signing in…",
    new_password_title: "Choose a new password",
    new_password: "New password (12 characters or more)",
    set_password: "Set password",
    sign_out: "Sign out",
    signed_in_as: "Signed in as {name}",
    language: "Language",
    session_expired: "Your session has expired: please sign in again",
    config_missing: "config.json could not be read: {reason}",
    sign_in_failed: "Sign-in failed: {reason}",
    nav_label: "Main",
    orders: "Orders",
    tabs_label: "Order statuses",
    not_found: "No such page: {path}",
    failed: "Something went wrong: {reason}",
    dismiss: "Dismiss",
    nothing: "Nothing here",
    refresh: "Refresh",
    save: "Save",
    cancel: "Cancel",
    yes: "Yes",
    no: "No",
    status: "Status",
    order: "Order",
    store: "Store",
    channel: "Channel",
    country: "Country",
    sku: "SKU",
    quantity: "Quantity",
    reason: "Reason",
    time: "Time",
    by: "By",
  },
};

export function initialLanguage() {
  const saved = localStorage.getItem(KEY);
  if (saved && saved in LANGUAGES) return saved;
  return "zh";
}

export function saveLanguage(lang) {
  localStorage.setItem(KEY, lang);
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
}

// Looks a key up in the view's own strings, then the common ones; a missing key shows itself, so a gap
// is seen on the page rather than hidden as an empty label.
export function translator(lang, own) {
  return (key, vars) => {
    const text = own?.[lang]?.[key] ?? COMMON[lang][key] ?? own?.zh?.[key] ?? COMMON.zh[key] ?? key;
    return fill(text, vars);
  };
}

export function statusLabel(lang, status) {
  return STATUS[lang][status] || status;
}
