// The services this srs runs, registered in one place: adding a protocol (HTTP-FLV, the edge, the
// RTMP session of src/media/) is one more entry here, and no other lifecycle file changes.
import type { ApiContext } from '../server/http';
import { httpApiSpecs, httpRoleHandler, httpServerSpecs, rtmpSpecs, type ListenerSet } from '../server/listeners';
import { rtmpRoleHandler } from '../server/media';
import type { ConnectionRegistry } from '../server/registry';
import { ListenerService, ServiceSet, endpoint } from '../server/service';

export interface ServiceDeps {
  registry: ConnectionRegistry;
  api: ApiContext;
  /** the listener set, once made: a snapshot lists the service's own listeners */
  listeners: () => ListenerSet | null;
}

export function registerServices(services: ServiceSet, deps: ServiceDeps): ServiceSet {
  const active = (roles: string[]) => (): string[] =>
    (deps.listeners()?.list() ?? []).filter((l) => l.spec.role.split('+').some((r) => roles.includes(r))).map((l) => `${l.spec.role} ${endpoint(l.spec.address)}`);
  const common = { registry: deps.registry, drains: services.drains };
  const http = httpRoleHandler(deps.api, deps.registry);
  services.register(new ListenerService({ ...common, name: 'rtmp', roles: ['rtmp'], listeners: rtmpSpecs, handlers: { rtmp: rtmpRoleHandler() }, active: active(['rtmp']) }));
  services.register(new ListenerService({ ...common, name: 'http_api', roles: ['http_api'], listeners: httpApiSpecs, handlers: { http_api: http }, active: active(['http_api']) }));
  services.register(new ListenerService({ ...common, name: 'http_server', roles: ['http_server'], listeners: httpServerSpecs, handlers: { http_server: http }, active: active(['http_server']) }));
  return services;
}
