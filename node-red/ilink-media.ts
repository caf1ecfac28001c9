/**
 * ilink-media: download + decrypt the media of an inbound msg into a Buffer,
 * or encrypt + upload a Buffer to the CDN and get a reference that ilink-send
 * (or any iLink item) can use.
 */
import { asBuffer, ValidationError, type Item, type Message } from '../shared';
import { putMedia } from './lib/media-msg';
import type { IlinkConfigNode } from './lib/config-node';
import { configNodeOf, noBotSelectedError } from './lib/node-status';
import { recipientOf, resolveTarget } from './lib/outbound';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red-api';
import { linkSender } from './lib/sender-link';

interface IlinkMediaDef extends NodeDef {
  bot?: string;
  operation?: 'download' | 'upload';
  /** Upload: the recipient when the msg did not come from ilink-in and has no msg.to. */
  to?: string;
}

/** A friendly message (msg.ilink) or a single item (msg.ilink.items[n], msg.item). */
function downloadTarget(msg: NodeMessage): Message | Item {
  const candidate = msg.item ?? msg.ilink;
  if (candidate && typeof candidate === 'object' && (Array.isArray(candidate.items) || typeof candidate.type === 'string')) {
    return candidate as Message | Item;
  }
  throw new ValidationError('nothing to download: send a msg from an ilink-in node (msg.ilink), or put an iLink item in msg.item');
}

export = function (RED: NodeAPI): void {
  function IlinkMedia(this: RedNode, def: IlinkMediaDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    const link = config && linkSender(node, config.connection);
    const operation = def.operation === 'upload' ? 'upload' : 'download';

    node.on('input', async (msg, send, done) => {
      if (!config || !link) {
        done(noBotSelectedError());
        return;
      }
      link.status({ fill: 'blue', shape: 'dot', text: `ilink-media.status.${operation}ing` });
      try {
        const client = config.connection.client;
        if (operation === 'download') {
          const media = await client.downloadMedia(downloadTarget(msg), { signal: link.signal });
          putMedia(msg, media);
          link.status({ fill: 'green', shape: 'dot', text: RED._('ilink-media.status.downloaded', { size: media.size, name: media.fileName }) });
        } else {
          const data = asBuffer(msg.payload);
          if (!data) throw new ValidationError('upload needs msg.payload as a Buffer (and msg.filename)');
          const fileName = typeof msg.filename === 'string' ? msg.filename.trim() : '';
          if (!fileName) throw new ValidationError('upload needs msg.filename (e.g. "photo.jpg"): it sets the media type');
          const to = recipientOf(resolveTarget(msg, def.to));
          const uploaded = await client.uploadMedia(data, { fileName, toUserId: to, signal: link.signal });
          // The reference only: ilink-send accepts it as msg.payload (or inside an array).
          msg.payload = uploaded;
          msg.to = msg.to ?? to;
          link.status({ fill: 'green', shape: 'dot', text: RED._('ilink-media.status.uploaded', { size: uploaded.plainSize, name: fileName }) });
        }
        send(msg);
        done();
      } catch (error) {
        link.fail(error, done, operation === 'download' ? 'downloading media' : 'uploading media');
      }
    });
  }

  RED.nodes.registerType('ilink-media', IlinkMedia);
};
