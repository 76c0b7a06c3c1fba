/**
 * A small HTML status page: entities, listener counts, pending calls (Manage only, see
 * ops-endpoints.ts), and the login form shown instead of it to anyone without a Manage token.
 */
import type { ManagementDeps } from '../../deps';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export async function renderStatusPage(ctx: ManagementDeps, o: { showLogout?: boolean } = {}): Promise<string> {
  const entities = await ctx.store.listEntities();
  const rows = entities
    .map((e) => {
      // Every node's listeners of the path (a shared store): other nodes' ones are routable from here.
      const listeners = ctx.router.registry.list(e.path);
      const healthy = listeners.filter((l) => l.healthy).length;
      const here = listeners.filter((l) => !l.remote).length;
      return `<tr><td>${esc(e.path)}</td><td>${listeners.length}</td><td>${here}</td><td>${healthy}</td><td>${
        e.requiresClientAuthorization ? 'token' : 'anonymous'
      }</td><td>${esc(e.updatedAt)}</td></tr>`;
    })
    .join('\n');
  const nodes = ctx.nodes();
  const nodeRows = nodes
    .map((n) => `<tr><td>${esc(n.nodeId)}${n.self ? ' (this node)' : ''}</td><td>${n.listeners}</td><td>${n.draining ? 'draining' : 'serving'}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>relaybridge status</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body>
<h1>relaybridge</h1>
<p>Node <b>${esc(ctx.config.nodeId)}</b>${ctx.router.draining ? ' (draining)' : ''} · ${ctx.router.pendingRequests.size} HTTP calls in flight · ${ctx.router.pendingAccepts.size} WebSocket accepts pending</p>
<table><thead><tr><th>hybrid connection</th><th>listeners (all nodes)</th><th>on this node</th><th>healthy</th><th>senders</th><th>updated</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">no hybrid connections yet</td></tr>'}
</tbody></table>
<h2>Relay nodes</h2>
<table><thead><tr><th>node</th><th>listeners</th><th>state</th></tr></thead>
<tbody>
${nodeRows}
</tbody></table>
<p><a href="/$health">health</a> · /$metrics (Prometheus, with a Manage token in the Authorization header)</p>
${o.showLogout ? '<form method="post" action="/$status"><input type="hidden" name="logout" value="1"><button>Log out</button></form>' : ''}
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
