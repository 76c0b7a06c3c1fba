/**
 * What a listener channel calls for each relayed HTTP request, whatever is behind it: a local
 * HTTP service (`http`), a `soap`-package module run inside the agent (`module`), or Node
 * processes registered over IPC (`ipc`).
 */
import type { LocalRequest, LocalResponse } from './http-proxy';

export interface ServiceProxy {
  call(request: LocalRequest): Promise<LocalResponse>;
  close(): void | Promise<void>;
}
