// The frame every HTML page shares: head with the fingerprinted stylesheet and icon, the header
// with the logo, and a footer.
import type { AssetCatalog } from '../assets.js';
import { html, type SafeHtml } from '../html.js';

/** The original app's stylesheet path; the page loads its fingerprinted copy and names the plain one. */
const STYLESHEET = '/stylesheets/style.css';

export interface LayoutOptions {
  readonly assets: AssetCatalog;
  readonly title: string;
  readonly version: string;
  readonly body: SafeHtml;
}

export function layout({ assets, title, version, body }: LayoutOptions): SafeHtml {
  const logo = assets.url('/images/logo.svg');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${assets.url(STYLESHEET)}" data-unversioned-href="${STYLESHEET}">
<link rel="icon" type="image/svg+xml" href="${logo}">
</head>
<body>
<header class="site-header">
  <a class="brand" href="/"><img class="brand-logo" src="${logo}" alt="3tier App logo" width="48" height="48"><span>3tier App</span></a>
</header>
<main class="content">
${body}
</main>
<footer class="site-footer">web &middot; api &middot; database <span class="version">version ${version}</span></footer>
</body>
</html>
`;
}
