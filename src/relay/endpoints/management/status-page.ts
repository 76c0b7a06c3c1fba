/**
 * The console page at `/$status` (Manage only, see ops-endpoints.ts): per hybrid connection its
 * listeners (agent name and version, address, node, connected since), calls per second, errors
 * and p50/p99 over the last minutes, paths with no listener marked; the recent calls with their
 * correlation ids; the relay nodes. The same data as JSON (`?format=json`) for scripts. The page
 * refreshes itself every two seconds (`?fragment=1`: the same HTML without the frame), and the
 * login form is shown instead to anyone without a Manage token.
 */
import type { ManagementDeps, NodeView } from '../../deps';
import { STATS_WINDOW_MS } from '../../http/call-stats';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Recent calls shown. */
const RECENT_SHOWN = 50;

export interface StatusListener {
  readonly listenerId: string;
  /** The listener's User-Agent (our agent: relaybridge-agent/VERSION (NAME)), when known. */
  readonly agent: string | undefined;
  readonly remoteAddress: string | undefined;
  /** The relay node holding its control channel. */
  readonly node: string;
  readonly connectedAt: string | undefined;
  readonly healthy: boolean;
}

export interface StatusPath {
  readonly path: string;
  readonly senders: 'token' | 'anonymous';
  readonly listeners: StatusListener[];
  /** No listener on any node: calls to it fail (502). */
  readonly noListener: boolean;
  readonly callsPerSecond: number;
  readonly calls: number;
  readonly errors: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

export interface StatusCall {
  readonly at: string;
  readonly id: string;
  readonly endpoint: string;
  readonly path: string;
  readonly operation: string | undefined;
  readonly status: number;
  readonly code: string | undefined;
  readonly ms: number;
}

export interface StatusModel {
  readonly nodeId: string;
  readonly draining: boolean;
  readonly callsInFlight: number;
  /** The window errors and percentiles cover, seconds. */
  readonly windowSeconds: number;
  readonly paths: StatusPath[];
  readonly recent: StatusCall[];
  readonly nodes: readonly NodeView[];
}

export async function statusModel(ctx: ManagementDeps): Promise<StatusModel> {
  const entities = await ctx.store.listEntities();
  const paths = entities.map((e): StatusPath => {
    const listeners = ctx.router.registry.list(e.path);
    const stats = ctx.accessLog.stats.stats(e.path);
    return {
      path: e.path,
      senders: e.requiresClientAuthorization ? 'token' : 'anonymous',
      listeners: listeners.map((l) => ({
        listenerId: l.listenerId,
        agent: l.userAgent,
        remoteAddress: l.remoteAddress || undefined,
        node: l.nodeId ?? ctx.config.nodeId,
        connectedAt: l.connectedAt,
        healthy: l.healthy,
      })),
      noListener: !listeners.some((l) => l.healthy),
      callsPerSecond: Math.round(stats.callsPerSecond * 100) / 100,
      calls: stats.calls,
      errors: stats.errors,
      p50Ms: stats.p50Ms,
      p99Ms: stats.p99Ms,
    };
  });
  const recent = ctx.accessLog
    .recent()
    .slice(0, RECENT_SHOWN)
    .map((c) => ({ at: new Date(c.at).toISOString(), id: c.id, endpoint: c.endpoint, path: c.path, operation: c.operation, status: c.status, code: c.code, ms: c.ms }));
  return {
    nodeId: ctx.config.nodeId,
    draining: ctx.router.draining,
    callsInFlight: ctx.router.pendingRequests.size,
    windowSeconds: STATS_WINDOW_MS / 1000,
    paths,
    recent,
    nodes: ctx.nodes(),
  };
}

const ms = (v: number | undefined): string => (v === undefined ? '–' : `${v} ms`);

/** The page's content (what the refresh replaces). */
export function renderStatusContent(m: StatusModel): string {
  const rows = m.paths
    .map((p) => {
      const listeners = p.listeners.length
        ? p.listeners
            .map(
              (l) =>
                `<div class="listener${l.healthy ? '' : ' unhealthy'}">${esc(l.agent ?? 'listener')}${l.remoteAddress ? ` · ${esc(l.remoteAddress)}` : ''} · ${esc(l.node)}${
                  l.connectedAt ? ` · since <time datetime="${esc(l.connectedAt)}">${esc(l.connectedAt.slice(0, 19).replace('T', ' '))}</time>` : ''
                }</div>`,
            )
            .join('')
        : '<b>no listener</b>';
      return `<tr class="path${p.noListener ? ' no-listener' : ''}" data-path="${esc(p.path)}"><td>${esc(p.path)}</td><td class="listeners">${listeners}</td><td class="num rate">${p.callsPerSecond}</td><td class="num">${p.calls}</td><td class="num errors">${p.errors}</td><td class="num">${ms(p.p50Ms)}</td><td class="num">${ms(p.p99Ms)}</td><td>${p.senders}</td></tr>`;
    })
    .join('\n');
  const calls = m.recent
    .map(
      (c) =>
        `<tr class="call${c.status >= 400 || c.status === 0 ? ' failed' : ''}" data-id="${esc(c.id)}"><td><time datetime="${esc(c.at)}">${esc(c.at.slice(11, 23))}</time></td><td>${esc(c.path)}</td><td>${esc(c.operation ?? '')}</td><td>${esc(c.endpoint)}</td><td class="num status">${c.status}${c.code ? ` <small>${esc(c.code)}</small>` : ''}</td><td class="num">${c.ms} ms</td><td><code>${esc(c.id)}</code></td></tr>`,
    )
    .join('\n');
  const nodeRows = m.nodes
    .map((n) => `<tr><td>${esc(n.nodeId)}${n.self ? ' (this node)' : ''}</td><td>${n.listeners}</td><td>${n.draining ? 'draining' : 'serving'}</td></tr>`)
    .join('\n');
  return `<p>Node <b>${esc(m.nodeId)}</b>${m.draining ? ' (draining)' : ''} · ${m.callsInFlight} calls in flight · statistics over the last ${m.windowSeconds / 60} minutes</p>
<h2>Hybrid connections</h2>
<table id="paths"><thead><tr><th>path</th><th>listeners</th><th>calls/s</th><th>calls</th><th>errors</th><th>p50</th><th>p99</th><th>senders</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8">no hybrid connections yet</td></tr>'}
</tbody></table>
<h2>Recent calls</h2>
<table id="calls"><thead><tr><th>time (UTC)</th><th>path</th><th>operation</th><th>endpoint</th><th>status</th><th>duration</th><th>correlation id</th></tr></thead>
<tbody>
${calls || '<tr><td colspan="7">no calls yet</td></tr>'}
</tbody></table>
<h2>Relay nodes</h2>
<table><thead><tr><th>node</th><th>listeners</th><th>state</th></tr></thead>
<tbody>
${nodeRows}
</tbody></table>`;
}

/** The whole page; `nonce` lets its refresh script run under the page's Content-Security-Policy. */
export function renderStatusPage(m: StatusModel, o: { showLogout?: boolean; nonce: string }): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>relaybridge status</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin-bottom:1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right;white-space:nowrap}
tr.no-listener td{background:#fde8e8}tr.no-listener td:first-child{border-left:4px solid #c62828}
tr.failed td.status{color:#c62828;font-weight:600}.listener.unhealthy{color:#888}
#live{color:#2e7d32}#live.stale{color:#c62828}code{font-size:12px}
</style>
</head><body>
<h1>relaybridge <small id="live">live</small></h1>
<main id="status">
${renderStatusContent(m)}
</main>
<p><a href="/$status?format=json">JSON</a> · <a href="/$health">health</a> · /$metrics (Prometheus, with a Manage token in the Authorization header)</p>
${o.showLogout ? '<form method="post" action="/$status"><input type="hidden" name="logout" value="1"><button>Log out</button></form>' : ''}
<script nonce="${o.nonce}">
(function () {
  var live = document.getElementById('live');
  function refresh() {
    fetch('/$status?fragment=1', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) { document.getElementById('status').innerHTML = html; live.className = ''; live.textContent = 'live'; })
      .catch(function () { live.className = 'stale'; live.textContent = 'not updating'; })
      .then(function () { setTimeout(refresh, 2000); });
  }
  setTimeout(refresh, 2000);
})();
</script>
</body></html>`;
}

/** The login form: paste a SAS token with Manage on the namespace (`relaybridge token ...`). */
export function renderLoginPage(reason: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>relaybridge status: sign in</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}textarea{width:40rem;max-width:100%}</style>
</head><body>
<h1>relaybridge</h1>
<p>The status page needs a SAS token with <b>Manage</b> on the namespace (${esc(reason.slice(0, 300))}).</p>
<form method="post" action="/$status">
<p><label>SharedAccessSignature token<br><textarea name="token" rows="4" autocomplete="off" spellcheck="false"></textarea></label></p>
<p><button>Sign in</button></p>
</form>
<p>Create one with <code>relaybridge token --uri &lt;relay url&gt; --key-name &lt;rule&gt; --key &lt;key&gt;</code>.</p>
</body></html>`;
}
