// Signing in to a team server (a browser only): the account's password when the server checks
// passwords (PAM), or an API token its administrator made. Behind a single sign-on proxy the
// server already knows the person and this never shows. A refused request later (the session
// expired) brings it back.
import { account, isErrorPayload, onSignInNeeded, type WhoAmI } from "./api";
import { $, explain } from "./dom";

let signedIn: ((who: WhoAmI) => void) | null = null;

function showForm(message = "") {
  $("sign-in").hidden = false;
  $("app").setAttribute("aria-hidden", "true");
  $("sign-in-error").textContent = message;
  $("sign-in-user").focus();
}

function done(who: WhoAmI) {
  $("sign-in").hidden = true;
  $("app").removeAttribute("aria-hidden");
  $<HTMLInputElement>("sign-in-password").value = "";
  $<HTMLInputElement>("sign-in-token").value = "";
  $("signed-in-as").textContent = who.user;
  $("account").hidden = false;
  signedIn?.(who);
  signedIn = null;
}

/** The person this tab is signed in as: at once if it is (a token from before, a proxy's
 * sign-on), else once they have signed in. */
export async function signIn(): Promise<WhoAmI> {
  const waiting = new Promise<WhoAmI>((resolve) => (signedIn = resolve));
  try {
    done(await account.whoami());
  } catch (e) {
    if (!isErrorPayload(e) || e.code !== "unauthenticated") throw e;
    showForm();
  }
  return waiting;
}

export function setUpSignIn() {
  onSignInNeeded(() => {
    if ($("sign-in").hidden) showForm("Your session has ended: sign in again.");
  });
  $("sign-in-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const user = $<HTMLInputElement>("sign-in-user").value.trim();
    const password = $<HTMLInputElement>("sign-in-password").value;
    const token = $<HTMLInputElement>("sign-in-token").value.trim();
    $("sign-in-error").textContent = "";
    $<HTMLButtonElement>("sign-in-submit").disabled = true;
    try {
      if (token) done(await account.useToken(token));
      else {
        await account.signIn(user, password);
        done(await account.whoami());
      }
    } catch (err) {
      const notFound = isErrorPayload(err) && err.code === "not_found";
      $("sign-in-error").textContent = notFound ? "This server does not check passwords: use an API token from its administrator." : explain(err);
    } finally {
      $<HTMLButtonElement>("sign-in-submit").disabled = false;
    }
  });
  $("sign-out").addEventListener("click", () => {
    account.signOut();
    location.reload();
  });
}
