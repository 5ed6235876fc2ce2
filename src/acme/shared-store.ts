import type { StoredCertificate } from './storage.js';

/** Where the challenge answers of every node's orders are published (the cluster's Redis). */
export interface ChallengeShare {
  /** publishes an answer for as long as an order may wait on it; resolves its removal */
  publishChallenge(kind: 'http-01' | 'tls-alpn-01', id: string, value: string): Promise<() => void>;
  /** the answer some node published, or undefined */
  challenge(kind: 'http-01' | 'tls-alpn-01', id: string): Promise<string | undefined>;
}

/**
 * What the nodes of a cluster share of ACME (src/cluster/shared-acme.ts):
 * one account key per directory, the certificates (one node orders, the
 * others load it), a lock per name so two nodes never order it at once, and
 * the challenge answers. Every call may throw when Redis is away; the
 * certificate manager then goes on with its own folder.
 */
export interface SharedAcme extends ChallengeShare {
  accountKey(directoryUrl: string): Promise<string | undefined>;
  /** stores `pem` unless another node stored one first; resolves the key in force */
  saveAccountKey(directoryUrl: string, pem: string): Promise<string>;
  certificate(name: string): Promise<StoredCertificate | undefined>;
  saveCertificate(name: string, cert: StoredCertificate, notAfter: number): Promise<void>;
  /** the order lock of `name` for this node (its release), or undefined while another node holds it */
  lockOrder(name: string): Promise<(() => void) | undefined>;
}
