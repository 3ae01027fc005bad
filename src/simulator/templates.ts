/**
 * The WireServer's documents, as text templates modelled on the real samples in test/fixtures/fabric/.
 * Deliberately not built with the agent's document builders: the simulator is the independent second implementation.
 */

/** The protocol versions the simulated fabric offers (the real fabric prefers 2015-04-05 and supports 2012-11-30). */
export const SUPPORTED_VERSIONS: readonly string[] = ['2015-04-05', '2012-11-30'];

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

/** Escapes text for an XML element or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** Base64 in 64-character lines, as the fabric formats CertificateFile/Data. */
export function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  return b64.match(/.{1,64}/g)?.join('\n') ?? '';
}

/** GET /?comp=versions. */
export function versionsXml(): string {
  return `${XML_DECLARATION}
<Versions>
  <Preferred>
    <Version>2015-04-05</Version>
  </Preferred>
  <Supported>
    <Version>2015-04-05</Version>
    <Version>2012-11-30</Version>
  </Supported>
</Versions>
`;
}

/** Everything the goal state names, for one incarnation. */
export interface GoalStateValues {
  incarnation: number;
  containerId: string;
  instanceId: string;
  /** Absolute base of the document URLs, e.g. http://127.0.0.1:PORT + the document path. */
  documentUrl: string;
  withCertificates: boolean;
  /** A fault: some fabrics answer a few goal-state requests without the RoleInstance (WALA goal_state.py). */
  noRoleInstance: boolean;
}

/** GET /machine/?comp=goalstate. URLs are absolute, carry the incarnation and are XML-escaped (&amp;). */
export function goalStateXml(v: GoalStateValues): string {
  const url = (query: string): string => escapeXml(`${v.documentUrl}?${query}&incarnation=${v.incarnation}`);
  const certificates = v.withCertificates ? `\n            <Certificates>${url('comp=certificates')}</Certificates>` : '';
  const roleInstance = v.noRoleInstance
    ? ''
    : `
      <RoleInstance>
        <InstanceId>${escapeXml(v.instanceId)}</InstanceId>
        <State>Started</State>
        <Configuration>
            <HostingEnvironmentConfig>${url('comp=config&type=hostingEnvironmentConfig')}</HostingEnvironmentConfig>
            <SharedConfig>${url('comp=config&type=sharedConfig')}</SharedConfig>${certificates}
            <ConfigName>${escapeXml(`${v.containerId}.${v.incarnation}.${v.instanceId}.${v.incarnation}.xml`)}</ConfigName>
        </Configuration>
      </RoleInstance>
    `;
  return `${XML_DECLARATION}
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>${v.incarnation}</Incarnation>
  <Machine>
    <ExpectedState>Started</ExpectedState>
    <StopRolesDeadlineHint>300000</StopRolesDeadlineHint>
    <LBProbePorts>
      <Port>16001</Port>
    </LBProbePorts>
    <ExpectHealthReport>FALSE</ExpectHealthReport>
  </Machine>
  <Container>
    <ContainerId>${escapeXml(v.containerId)}</ContainerId>
    <RoleInstanceList>${roleInstance}</RoleInstanceList>
  </Container>
</GoalState>
`;
}

/** One StoredCertificate entry: where the fabric wants a certificate imported. */
export interface StoredCertificateValues {
  thumbprint: string;
  friendlyName: string;
  storeName: string;
}

/** Role name used in the config documents; the instance id ends with it. */
export const ROLE_NAME = 'winprov-role';

/** GET ...?comp=config&type=hostingEnvironmentConfig: StoredCertificates plus the usual deployment noise. */
export function hostingEnvironmentConfigXml(incarnation: number, containerId: string, certificates: readonly StoredCertificateValues[]): string {
  const stored = certificates
    .map(
      (c, i) =>
        `\n    <StoredCertificate name="${escapeXml(`Stored${i}${c.friendlyName || 'Certificate'}`)}" certificateId="sha1:${escapeXml(c.thumbprint)}" storeName="${escapeXml(c.storeName)}" configurationLevel="System" />`,
    )
    .join('');
  const deployment = containerId.replaceAll('-', '');
  return `<HostingEnvironmentConfig version="1.0.0.0" goalStateIncarnation="${incarnation}">
  <StoredCertificates>${stored}
  </StoredCertificates>
  <Deployment name="${escapeXml(deployment)}" guid="{${escapeXml(containerId)}}" incarnation="${incarnation}">
    <Service name="${ROLE_NAME}-service" guid="{00000000-0000-0000-0000-000000000000}" />
    <ServiceInstance name="${escapeXml(deployment)}.1" guid="{${escapeXml(containerId)}}" />
  </Deployment>
  <Incarnation number="${incarnation}" instance="${ROLE_NAME}_IN_0" guid="{${escapeXml(containerId)}}" />
  <Role guid="{${escapeXml(containerId)}}" name="${ROLE_NAME}" hostingEnvironmentVersion="1" software="" softwareType="ApplicationPackage" entryPoint="" parameters="" settleTimeSeconds="10" />
  <HostingEnvironmentSettings name="full" runtime="rd_fabric_stable.runtimePackage_1.0.0.8.zip">
    <CAS mode="full" />
    <PrivilegeLevel mode="max" />
    <AdditionalProperties><CgiHandlers></CgiHandlers></AdditionalProperties>
  </HostingEnvironmentSettings>
  <ApplicationSettings>
    <Setting name="Microsoft.WindowsAzure.Plugins.RemoteForwarder.Enabled" value="true" />
  </ApplicationSettings>
  <ResourceReferences>
    <Resource name="DiagnosticStore" type="directory" request="Microsoft.Cis.Fabric.Controller.Descriptions.ServiceDescription.Data.Policy" sticky="true" size="1" path="${escapeXml(deployment)}.${ROLE_NAME}.DiagnosticStore\\" disableQuota="false" />
  </ResourceReferences>
</HostingEnvironmentConfig>
`;
}

/** GET ...?comp=config&type=sharedConfig: canned (nobody needs it to provision); the addresses are placeholders. */
export function sharedConfigXml(incarnation: number, containerId: string): string {
  const deployment = containerId.replaceAll('-', '');
  return `<SharedConfig version="1.0.0.0" goalStateIncarnation="${incarnation}">
  <Deployment name="${escapeXml(deployment)}" guid="{${escapeXml(containerId)}}" incarnation="${incarnation}">
    <Service name="${ROLE_NAME}-service" guid="{00000000-0000-0000-0000-000000000000}" />
    <ServiceInstance name="${escapeXml(deployment)}.1" guid="{${escapeXml(containerId)}}" />
  </Deployment>
  <Incarnation number="${incarnation}" instance="${ROLE_NAME}_IN_0" guid="{${escapeXml(containerId)}}" />
  <Role guid="{${escapeXml(containerId)}}" name="${ROLE_NAME}" settleTimeSeconds="10" />
  <LoadBalancerSettings timeoutSeconds="0" waitLoadBalancerProbeCount="8">
    <Probes>
      <Probe name="${ROLE_NAME}" />
    </Probes>
  </LoadBalancerSettings>
  <OutputEndpoints>
    <Endpoint name="${ROLE_NAME}:Microsoft.WindowsAzure.Plugins.RemoteAccess.Rdp" type="SFS">
      <Target instance="${ROLE_NAME}_IN_0" endpoint="Microsoft.WindowsAzure.Plugins.RemoteAccess.Rdp" />
    </Endpoint>
  </OutputEndpoints>
  <Instances>
    <Instance id="${ROLE_NAME}_IN_0" address="10.0.0.4">
      <FaultDomains randomId="0" updateId="0" updateCount="0" />
      <InputEndpoints>
        <Endpoint name="Microsoft.WindowsAzure.Plugins.RemoteAccess.Rdp" address="10.0.0.4:3389" protocol="tcp" isPublic="false" enableDirectServerReturn="false" isDirectAddress="false" disableStealthMode="false">
          <LocalPorts>
            <LocalPortRange from="3389" to="3389" />
          </LocalPorts>
        </Endpoint>
      </InputEndpoints>
    </Instance>
  </Instances>
</SharedConfig>
`;
}

/** GET ...?comp=certificates: the envelope (or, for a fault, any bytes) as base64 in 64-character lines. */
export function certificateFileXml(incarnation: number, data: Uint8Array): string {
  return `${XML_DECLARATION}
<CertificateFile xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="certificates10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>${incarnation}</Incarnation>
  <Format>Pkcs7BlobWithPfxContents</Format>
  <Data>${base64Lines(data)}</Data>
</CertificateFile>
`;
}

/** A document cut in the middle of a tag and never closed: not well-formed XML. */
export function malformedXml(normal: string): string {
  const head = normal.slice(0, Math.floor(normal.length / 2)) || XML_DECLARATION;
  return `${head}<Broken attr="</`;
}

/** The oversize fault body: 4 MiB, an agent must stop reading long before the end. */
export const OVERSIZE_BYTES = 4 * 1024 * 1024;

/** An XML-looking body of exactly OVERSIZE_BYTES. */
export function oversizeBody(): Buffer {
  const head = Buffer.from(`${XML_DECLARATION}\n<Filler>`);
  const tail = Buffer.from('</Filler>\n');
  const body = Buffer.alloc(OVERSIZE_BYTES, 'A');
  head.copy(body, 0);
  tail.copy(body, OVERSIZE_BYTES - tail.length);
  return body;
}
