// The pages the web tier renders: the home page (status plus guestbook), and the error pages.
import type { Message, StatusInfo } from '../api-client.js';
import type { AssetCatalog } from '../assets.js';
import { html, type SafeHtml } from '../html.js';
import { type FormState, guestbookForm } from './guestbook-form.js';
import { layout } from './layout.js';

export interface PageContext {
  readonly assets: AssetCatalog;
  readonly version: string;
}

const TITLE = '3tier App';

/** "2025-01-31T12:34:56.789Z" -> "2025-01-31 12:34 UTC"; anything unparsable is shown as given. */
function readableTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function messageList(messages: Message[]): SafeHtml {
  if (messages.length === 0) return html`<p class="empty">No messages yet. Be the first to sign.</p>`;
  return html`<ol class="messages">
${messages.map(
  (m) => html`<li class="message">
  <div class="message-meta"><span class="message-author">${m.author}</span><time datetime="${m.createdAt}">${readableTime(m.createdAt)}</time></div>
  <p class="message-text">${m.text}</p>
</li>
`,
)}</ol>`;
}

export interface HomePageData {
  readonly status: StatusInfo;
  readonly messages: Message[];
  readonly form: FormState;
  readonly formToken: string;
}

export function homePage(ctx: PageContext, data: HomePageData): SafeHtml {
  const body = html`<section class="card status">
  <h1>Welcome, it's <time class="status-time" datetime="${data.status.time}">${data.status.time}</time></h1>
  <p class="request">Request <code class="request-uuid">${data.status.requestUuid}</code></p>
</section>
<section class="card guestbook">
  <h2>Guestbook</h2>
  ${guestbookForm(data.form, data.formToken)}
  <h3>Latest messages</h3>
  ${messageList(data.messages)}
</section>`;
  return layout({ ...ctx, title: TITLE, body });
}

export interface ProblemPageData {
  readonly heading: string;
  readonly detail: string;
  /** When a submission failed, the form comes back filled in so nothing typed is lost. */
  readonly form?: { readonly state: FormState; readonly token: string };
  /** The request id, shown on server-side failures so a report can be matched to the logs. */
  readonly requestId?: string;
}

export function problemPage(ctx: PageContext, data: ProblemPageData): SafeHtml {
  const body = html`<section class="card problem">
  <h1>${data.heading}</h1>
  <p>${data.detail}</p>
  ${data.requestId ? html`<p class="request">Reference <code class="request-id">${data.requestId}</code></p>` : ''}
  <p><a class="button-link" href="/">Back to the home page</a></p>
</section>
${data.form ? html`<section class="card guestbook"><h2>Your message</h2>${guestbookForm(data.form.state, data.form.token)}</section>` : ''}`;
  return layout({ ...ctx, title: `${data.heading} · ${TITLE}`, body });
}
