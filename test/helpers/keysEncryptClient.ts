// Runs in a separate process, as the operator's machine would: reads an import request (JSON) on
// stdin, encrypts it to the signer transport public key given as argv[2], prints the request body.
import { encryptImportRequest } from "../../src/keys/transport.js";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
process.stdout.write(JSON.stringify(encryptImportRequest(process.argv[2]!, request)));
