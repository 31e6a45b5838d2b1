// The operator API on the page's own origin (CloudFront's /v1/* behaviour): the ID token of the user
// pool is the Authorization header, as API Gateway's Cognito authoriser reads it.

export class ApiError extends Error {
  constructor(status, body) {
    const message = body?.message || body?.error || `HTTP ${status}`;
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.error = body?.error || "error";
    this.detail = body?.detail || body?.problems || null;
  }
}

export function makeApi(apiBase, session) {
  return async function api(method, path, body) {
    const token = await session.idToken();
    const headers = { Authorization: token, Accept: "application/json" };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(apiBase + path, init);
    } catch (err) {
      throw new ApiError(0, { error: "network", message: `${method} ${path}: ${err.message}` });
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { error: "not_json", message: text.slice(0, 300) };
      }
    }
    if (response.status === 401) session.expired();
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  };
}

// 422 from the API names each field: "body.address.postcode: String should have at most 10 characters".
export function describe(err) {
  if (!(err instanceof ApiError) || !Array.isArray(err.detail)) return err.message;
  const fields = err.detail
    .map((d) => (typeof d === "string" ? d : `${(d.loc || []).join(".")}: ${d.msg || ""}`))
    .join("; ");
  return fields ? `${err.message} — ${fields}` : err.message;
}
