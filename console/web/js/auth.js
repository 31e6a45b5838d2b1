// Sign-in against the operator user pool with Cognito's own API (USER_PASSWORD_AUTH), as the pool's
// app client allows: no hosted UI to configure, the same form locally and on AWS. Tokens live in
// sessionStorage: a closed tab signs the operator out, and nothing outlives the browser session.

const KEY = "parcelflow.session";
const MARGIN_S = 60; // refresh a minute before the ID token expires

function decode(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    Array.from(atob(payload), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
  );
  return JSON.parse(json);
}

export class AuthError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "AuthError";
    this.code = code;
  }
}

export class Session {
  constructor(config, onExpired) {
    this.config = config;
    this.onExpired = onExpired;
    this.tokens = JSON.parse(sessionStorage.getItem(KEY) || "null");
    this.challenge = null;
  }

  get signedIn() {
    return Boolean(this.tokens?.idToken);
  }

  get userName() {
    if (!this.signedIn) return "";
    const claims = decode(this.tokens.idToken);
    return claims["cognito:username"] || claims.email || claims.sub || "";
  }

  async call(target, body) {
    let response;
    try {
      response = await fetch(this.config.cognitoEndpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
        },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new AuthError("network", err.message);
    }
    const parsed = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = String(parsed.__type || parsed.code || "error")
        .split("#")
        .pop();
      throw new AuthError(code, parsed.message || parsed.Message || code);
    }
    return parsed;
  }

  // Resolves "signed-in", or "new-password" when the pool wants the first password replaced.
  async signIn(userName, password) {
    const answer = await this.call("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: this.config.userPoolClientId,
      AuthParameters: { USERNAME: userName, PASSWORD: password },
    });
    return this.accept(answer, userName);
  }

  async setNewPassword(newPassword) {
    if (!this.challenge) throw new AuthError("no_challenge", "sign in first");
    const answer = await this.call("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: this.config.userPoolClientId,
      Session: this.challenge.session,
      ChallengeResponses: { USERNAME: this.challenge.userName, NEW_PASSWORD: newPassword },
    });
    return this.accept(answer, this.challenge.userName);
  }

  accept(answer, userName) {
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      this.challenge = { session: answer.Session, userName };
      return "new-password";
    }
    if (answer.ChallengeName) throw new AuthError(answer.ChallengeName, answer.ChallengeName);
    this.challenge = null;
    this.store(answer.AuthenticationResult);
    return "signed-in";
  }

  store(result, refreshToken) {
    const idToken = result.IdToken;
    this.tokens = {
      idToken,
      refreshToken: result.RefreshToken || refreshToken || this.tokens?.refreshToken,
      expiresAt: decode(idToken).exp,
    };
    sessionStorage.setItem(KEY, JSON.stringify(this.tokens));
  }

  async idToken() {
    if (!this.signedIn) throw new AuthError("signed_out", "not signed in");
    if (this.tokens.expiresAt - MARGIN_S > Date.now() / 1000) return this.tokens.idToken;
    try {
      const answer = await this.call("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: this.config.userPoolClientId,
        AuthParameters: { REFRESH_TOKEN: this.tokens.refreshToken },
      });
      this.store(answer.AuthenticationResult, this.tokens.refreshToken);
      return this.tokens.idToken;
    } catch (err) {
      this.expired();
      throw err;
    }
  }

  expired() {
    this.forget();
    this.onExpired?.();
  }

  // The refresh token is revoked at the pool, so a copy of it left anywhere is worth nothing.
  async signOut() {
    const refreshToken = this.tokens?.refreshToken;
    this.forget();
    if (!refreshToken) return;
    await this.call("RevokeToken", { Token: refreshToken, ClientId: this.config.userPoolClientId }).catch(
      () => undefined,
    );
  }

  forget() {
    this.tokens = null;
    this.challenge = null;
    sessionStorage.removeItem(KEY);
  }
}
