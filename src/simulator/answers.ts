import type { IncomingHttpHeaders } from 'node:http';
import { corruptData, envelopeFor, readTransportCertificate, selectCipher, type EnvelopeOptions } from './certificates.ts';
import type { FaultStep } from './faults.ts';
import type { Route } from './routes.ts';
import {
  SUPPORTED_VERSIONS,
  certificateFileXml,
  goalStateXml,
  hostingEnvironmentConfigXml,
  sharedConfigXml,
  versionsXml,
  type StoredCertificateValues,
} from './templates.ts';

/**
 * The normal answers of the document endpoints (everything but the health report), given the fabric's
 * current state. Fault steps that change a document (noRoleInstance, corruptCertificates, wrongRecipient)
 * are applied here; the ones that break the transport are the server's.
 */

/** An HTTP answer before it is sent. */
export interface Answer {
  status: number;
  body: string | Uint8Array;
  contentType: string;
  headers?: Record<string, string>;
}

/** What the answers are built from: the simulated VM's identity, goal state and tenant certificates. */
export interface FabricView {
  containerId: string;
  instanceId: string;
  incarnation: number;
  /** Absolute URL of the document path, e.g. http://127.0.0.1:PORT/machine/<container>/<instance>. */
  documentUrl: string;
  certificates: readonly StoredCertificateValues[];
  /** The tenant PFX; undefined when the scenario has no certificates. */
  pfx: Uint8Array | undefined;
  supportedCiphers: readonly string[];
  envelope: EnvelopeOptions;
  /** The certificate of the wrongRecipient fault, made on first use. */
  stranger: () => Promise<string>;
}

const XML = 'text/xml; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';

/** A plain-text answer (errors). */
export function textAnswer(status: number, text: string): Answer {
  return { status, body: text, contentType: TEXT };
}

function xmlAnswer(body: string): Answer {
  return { status: 200, body, contentType: XML };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Goal-state documents need x-ms-agent-name and a listed x-ms-version, as on the real WireServer. */
function checkAgentHeaders(headers: IncomingHttpHeaders): Answer | undefined {
  const agent = header(headers, 'x-ms-agent-name');
  if (agent === undefined || agent.trim() === '') return textAnswer(400, 'x-ms-agent-name header is required');
  const version = header(headers, 'x-ms-version');
  if (version === undefined) return textAnswer(400, 'x-ms-version header is required');
  if (!SUPPORTED_VERSIONS.includes(version)) return textAnswer(400, `x-ms-version ${version} is not supported (${SUPPORTED_VERSIONS.join(', ')})`);
  return undefined;
}

/** Documents are named by incarnation; one from an older goal state is gone (410), as WALA's ResourceGoneError expects. */
function checkIncarnation(route: Route, current: number): Answer | undefined {
  if (route.incarnation === undefined) return textAnswer(400, 'incarnation query parameter is required (use the goal-state URL as given)');
  if (!/^[0-9]+$/.test(route.incarnation)) return textAnswer(400, `incarnation ${route.incarnation} is not a number`);
  const asked = Number(route.incarnation);
  if (asked < current) return textAnswer(410, `incarnation ${asked} is gone (current ${current}); fetch the goal state again`);
  if (asked > current) return textAnswer(400, `incarnation ${asked} does not exist yet (current ${current})`);
  return undefined;
}

async function certificatesAnswer(view: FabricView, headers: IncomingHttpHeaders, step: FaultStep | undefined): Promise<Answer> {
  if (view.pfx === undefined) return textAnswer(404, 'this goal state has no certificates');
  const recipient = readTransportCertificate(header(headers, 'x-ms-guest-agent-public-x509-cert'));
  if ('refused' in recipient) return textAnswer(400, recipient.refused);
  const cipher = selectCipher(header(headers, 'x-ms-cipher-name'), view.supportedCiphers);
  if (typeof cipher !== 'string') return textAnswer(400, cipher.refused);
  if (step !== undefined && 'corruptCertificates' in step) return xmlAnswer(certificateFileXml(view.incarnation, corruptData()));
  const recipientPem = step !== undefined && 'wrongRecipient' in step ? await view.stranger() : recipient.toString();
  const envelope = envelopeFor(view.pfx, recipientPem, cipher, view.envelope);
  if ('refused' in envelope) return textAnswer(400, envelope.refused);
  return xmlAnswer(certificateFileXml(view.incarnation, envelope));
}

/** The answer of a document endpoint (versions, goal state, configs, certificates) in the current state. */
export async function answerDocument(route: Route, headers: IncomingHttpHeaders, view: FabricView, step: FaultStep | undefined): Promise<Answer> {
  // WALA asks for the versions without any header: that endpoint checks none.
  if (route.endpoint === 'versions') return xmlAnswer(versionsXml());
  const refusal = checkAgentHeaders(headers);
  if (refusal) return refusal;
  if (route.endpoint === 'goalstate') {
    return xmlAnswer(
      goalStateXml({
        incarnation: view.incarnation,
        containerId: view.containerId,
        instanceId: view.instanceId,
        documentUrl: view.documentUrl,
        withCertificates: view.pfx !== undefined,
        noRoleInstance: step !== undefined && 'noRoleInstance' in step,
      }),
    );
  }
  const stale = checkIncarnation(route, view.incarnation);
  if (stale) return stale;
  switch (route.endpoint) {
    case 'hostingEnvironmentConfig':
      return xmlAnswer(hostingEnvironmentConfigXml(view.incarnation, view.containerId, view.certificates));
    case 'sharedConfig':
      return xmlAnswer(sharedConfigXml(view.incarnation, view.containerId));
    case 'certificates':
      return certificatesAnswer(view, headers, step);
    default:
      return textAnswer(404, 'not a document endpoint');
  }
}
