// The services this srs runs, registered in one place: adding a protocol (HTTP-FLV, the edge, the
// RTMP session of src/media/) is one more entry here, and no other lifecycle file changes.
import type { ApiContext } from '../server/http';
import { exporterSpecs, httpApiSpecs, httpRoleHandler, httpServerSpecs, rtmpSpecs, type ListenerSet } from '../server/listeners';
import type { ConnectionRegistry } from '../server/registry';
import { ListenerService, ServiceSet, endpoint } from '../server/service';
import type { MediaService } from '../media/service';

export interface ServiceDeps {
  registry: ConnectionRegistry;
  api: ApiContext;
  /** the listener set, once made: a snapshot lists the service's own listeners */
  listeners: () => ListenerSet | null;
  /** RTMP sessions, the stream hub, HTTP-FLV (served by the file server) */
  media: MediaService;
}

export function registerServices(services: ServiceSet, deps: ServiceDeps): ServiceSet {
  const active = (roles: string[]) => (): string[] =>
    (deps.listeners()?.list() ?? []).filter((l) => l.spec.role.split('+').some((r) => roles.includes(r))).map((l) => `${l.spec.role} ${endpoint(l.spec.address)}`);
  const common = { registry: deps.registry, drains: services.drains };
  const http = httpRoleHandler(deps.api, deps.registry);
  const media = deps.media;
  services.register(
    new ListenerService({
      ...common,
      name: 'rtmp',
      roles: ['rtmp'],
      listeners: rtmpSpecs,
      handlers: { rtmp: media.rtmpHandler() },
      active: active(['rtmp']),
      onDrain: (reason) => media.drain(reason),
      onCut: (reason) => media.cut(reason),
      details: () => media.snapshot(),
    }),
  );
  services.register(new ListenerService({ ...common, name: 'http_api', roles: ['http_api'], listeners: httpApiSpecs, handlers: { http_api: http }, active: active(['http_api']) }));
  services.register(new ListenerService({ ...common, name: 'http_server', roles: ['http_server'], listeners: httpServerSpecs, handlers: { http_server: http }, active: active(['http_server']) }));
  services.register(new ListenerService({ ...common, name: 'exporter', roles: ['exporter'], listeners: exporterSpecs, handlers: { exporter: http }, active: active(['exporter']) }));
  return services;
}
