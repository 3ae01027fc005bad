// What the bundle gets for `node-forge` (build/bundle.ts aliases it here): forge's core object with only
// the parts src/crypto uses (ASN.1 with its OIDs, the byte buffers of util, RC2 for legacy PKCS#12
// bags). node-forge's index.js registers all of forge (TLS, SSH, ed25519, every cipher and digest), and
// evaluating that on a run that opens certificates cost time and memory for code it never calls.
// test/build/forge-subset.test.ts checks that every forge namespace src/crypto names is registered here.
'use strict';
module.exports = require('node-forge/lib/forge');
require('node-forge/lib/util');
require('node-forge/lib/oids');
require('node-forge/lib/asn1');
require('node-forge/lib/rc2');
