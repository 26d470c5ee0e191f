// The guestbook form, shared by the home page and the "could not save" page so input is never lost.
import { html, type SafeHtml } from '../html.js';

/** Field bounds shown to the browser; the API stays the authority and re-checks them. */
export const AUTHOR_MAX = 64;
export const TEXT_MAX = 1000;

export interface FormState {
  readonly author: string;
  readonly text: string;
  /** Why the last submission was refused, shown above the fields. */
  readonly error?: string;
}

export function guestbookForm(state: FormState, formToken: string): SafeHtml {
  return html`<form class="guestbook-form" method="post" action="/" accept-charset="utf-8">
  ${state.error ? html`<p class="form-error" role="alert">${state.error}</p>` : ''}
  <input type="hidden" name="form_token" value="${formToken}">
  <label for="author">Your name</label>
  <input id="author" name="author" type="text" maxlength="${AUTHOR_MAX}" autocomplete="name" value="${state.author}" required>
  <label for="text">Message</label>
  <textarea id="text" name="text" rows="3" maxlength="${TEXT_MAX}" required>${state.text}</textarea>
  <button type="submit">Sign the guestbook</button>
</form>`;
}
