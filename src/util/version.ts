/** burrow's own version, shown by `burrow --version`. */
export const BURROW_VERSION = '0.1.0';

/**
 * The frp version burrow speaks and announces in Login/LoginResp. frp peers
 * log it; burrow's behaviour follows the protocol of this release.
 */
export const FRP_COMPAT_VERSION = '0.70.1';
