// HAProxy's agent-check port: each TCP connection gets one line (ClusterNode.agentReply) and is closed; what the
// peer sends is ignored (agent-send is optional), a peer that never reads is cut after a second.
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ClusterNode } from './node.ts';

export interface AgentServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free one) and resolves once it does. */
export async function listenAgent(node: Pick<ClusterNode, 'agentReply'>, host: string, port: number): Promise<AgentServer> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.setTimeout(1000, () => socket.destroy());
    // HAProxy reads up to the first \r or \n, then closes; end() sends the line and our FIN.
    socket.end(node.agentReply());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
