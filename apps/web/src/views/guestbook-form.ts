// The guestbook form, shared by the home page and the "could not save" page so input is never lost.
import { html, type SafeHtml } from '../html.js';

/** Field bounds shown to the browser; the API stays the authority and re-checks them. */
export const AUTHOR_MAX = 64;
export const TEXT_MAX = 1000;

export type FormField = 'author' | 'text';

export interface FormState {
  readonly author: string;
  readonly text: string;
  /** Why the last submission was refused, shown above the fields. */
  readonly error?: string;
  /** The field the error is about, marked for the eye and for screen readers. */
  readonly errorField?: FormField;
}

const FIELD_HINTS: Record<FormField, string> = {
  author: `Please enter your name (1 to ${AUTHOR_MAX} characters).`,
  text: `Please write a message (1 to ${TEXT_MAX} characters).`,
};

/** For the API's "must not contain NUL (U+0000) or unpaired surrogate characters". */
const UNSTORABLE_HINTS: Record<FormField, string> = {
  author: 'Your name contains a character that cannot be saved (such as a NUL character). Please remove it.',
  text: 'Your message contains a character that cannot be saved (such as a NUL character). Please remove it.',
};

/**
 * Turns the API's 400 message (e.g. "body.text must NOT have fewer than 1 characters") into words
 * for a visitor, keeping the field it names; messages about anything else are shown as they are.
 */
export function refusedForm(author: string, text: string, apiMessage: string): FormState {
  const field = /\b(author|text)\b/.exec(apiMessage)?.[1] as FormField | undefined;
  if (!field) return { author, text, error: apiMessage };
  const hints = /must not contain/.test(apiMessage) ? UNSTORABLE_HINTS : FIELD_HINTS;
  return { author, text, error: hints[field], errorField: field };
}

export function guestbookForm(state: FormState, formToken: string): SafeHtml {
  const invalid = (field: FormField) => (state.errorField === field ? html` aria-invalid="true"` : '');
  return html`<form class="guestbook-form" method="post" action="/" accept-charset="utf-8">
  ${state.error ? html`<p class="form-error" role="alert">${state.error}</p>` : ''}
  <input type="hidden" name="form_token" value="${formToken}">
  <label for="author">Your name</label>
  <input id="author" name="author" type="text" maxlength="${AUTHOR_MAX}" autocomplete="name" value="${state.author}" required${invalid('author')}>
  <label for="text">Message</label>
  <textarea id="text" name="text" rows="3" maxlength="${TEXT_MAX}" required${invalid('text')}>${state.text}</textarea>
  <button type="submit">Sign the guestbook</button>
</form>`;
}
