import { projectLabels, projectResourceName, toK8sName } from './names';

describe('toK8sName', () => {
  it.each([
    ['My App', 'my-app'],
    ['  --Hello__World--  ', 'hello-world'],
    ['ÄÖÜ café', 'aou-cafe'],
    ['日本語', 'project'],
    ['', 'project'],
    ['a'.repeat(50), 'a'.repeat(20)],
    ['abcdefghijklmnopqrs-tuvwxyz', 'abcdefghijklmnopqrs'],
    ["Robert'); DROP TABLE x;--", 'robert-drop-table-x'],
  ])('%j → %j', (input, out) => {
    const name = toK8sName(input);
    expect(name).toBe(out);
    expect(name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(20);
  });
});

describe('projectResourceName', () => {
  it('appends -agentruntime- and six random lowercase letters', () => {
    let i = 0;
    const seq = [0, 0.5, 0.999, 0.1, 0.2, 0.3];
    expect(projectResourceName('My App', () => seq[i++]!)).toBe('my-app-agentruntime-anzcfh');
  });
  it('labels carry the contract keys', () => {
    expect(projectLabels('p1', 'n-agentruntime-abcdef', 'n-agentruntime-abcdef')).toEqual({
      'project.fullstackagent.io/id': 'p1',
      'project.fullstackagent.io/name': 'n-agentruntime-abcdef',
      app: 'n-agentruntime-abcdef',
      'cloud.sealos.io/app-deploy-manager': 'n-agentruntime-abcdef',
    });
  });
});
