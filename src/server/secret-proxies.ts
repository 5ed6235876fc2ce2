import type { NewProxy } from '../protocol/messages.js';
import type { PayloadTransformOptions } from '../proxy/payload-transform.js';
import { SecretServerProxy } from '../proxy/secret.js';
import type { ServerProxy } from '../proxy/types.js';
import { XtcpServerProxy } from '../proxy/xtcp.js';
import type { ControlSession } from './control-session.js';

/**
 * The server half of an stcp, sudp or xtcp proxy: none has a public port;
 * visitors reach them by name with the secret key (sk) and, unless
 * `allow_users` says otherwise, only from the owner's own user. An empty sk
 * is accepted as frp does; its visitors are then held to their own client's
 * connection (checkVisitorConn), since anyone can sign md5("" + time).
 */
export function createSecretProxy(type: 'stcp' | 'sudp' | 'xtcp', control: ControlSession, name: string, msg: NewProxy, payload: PayloadTransformOptions): ServerProxy {
  const common = {
    name,
    sk: msg.sk ?? '',
    allowUsers: msg.allow_users ?? [],
    ownerUser: control.user,
    getWorkConn: () => control.getWorkConn(),
  };
  if (type === 'xtcp') return new XtcpServerProxy({ ...common, ownerRunId: control.runId });
  return new SecretServerProxy({ ...common, type, payload, logger: control.log });
}
