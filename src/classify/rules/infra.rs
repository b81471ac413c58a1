//! Infrastructure: terraform, kubernetes, helm, docker, cloud CLIs.

use std::sync::LazyLock;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::super::unwrap;
use super::table::{Arm, ArmIndex, always, first_arm, index_arms};
use super::{Inv, any_of, flag, has_long, has_short};

rules! {
    TF_DESTROY = ("infra.terraform_destroy", Catastrophic, "Destroys all infrastructure managed by this Terraform/OpenTofu configuration. Run `terraform plan -destroy` first and let a human apply it.");
    TF_APPLY = ("infra.terraform_apply", Ambiguous, "Applies infrastructure changes to real resources. Run `terraform plan` first.");
    TF_STATE = ("infra.terraform_state", Ambiguous, "Edits Terraform state or workspaces directly; Terraform may then lose track of real resources. Back up the state first.");
    KUBE_DELETE_BROAD = ("infra.kubectl_delete_broad", Catastrophic, "Deletes Kubernetes namespaces, volumes, nodes or everything of a kind, with their data. Run it with `--dry-run=client` first.");
    KUBE_DELETE = ("infra.kubectl_delete", Ambiguous, "Deletes Kubernetes resources. Run it with `--dry-run=client` first.");
    KUBE_DRAIN = ("infra.kubectl_drain", Ambiguous, "Drains or cordons a node, evicting its workloads. Check what runs there with `kubectl get pods -A -o wide` first.");
    KUBE_SCALE_ZERO = ("infra.kubectl_scale_zero", Ambiguous, "Scales a workload down to zero replicas, taking it offline. Scale down by one, or let a human take it offline.");
    HELM_UNINSTALL = ("infra.helm_uninstall", Catastrophic, "Uninstalls a Helm release and deletes its resources. Run it with `--dry-run` first.");
    DOCKER_VOLUME_RM = ("infra.docker_volume_rm", Catastrophic, "Deletes Docker volumes and the data stored in them. Back the volume up first.");
    DOCKER_PRUNE_ALL = ("infra.docker_prune_all", Catastrophic, "Prunes all unused Docker data including volumes and their data. Prune without `--volumes`.");
    DOCKER_PRUNE = ("infra.docker_prune", Ambiguous, "Prunes unused Docker containers, networks and images. See what would go with `docker system df` first.");
    DOCKER_RM_FORCE = ("infra.docker_rm_force", Ambiguous, "Force-removes running containers, killing their processes. Stop them first.");
    COMPOSE_DOWN_VOLUMES = ("infra.compose_down_volumes", Catastrophic, "Stops the compose project and deletes its volumes with their data. Use `docker compose down` without `-v`.");
    S3_RM_RECURSIVE = ("infra.s3_rm_recursive", Catastrophic, "Deletes every object under an S3 prefix or bucket. Run it with `--dryrun` first.");
    S3_RB_FORCE = ("infra.s3_rb_force", Catastrophic, "Deletes an S3 bucket with all its objects. List it with `aws s3 ls` and keep a copy first.");
    S3_DELETE = ("infra.s3_delete", Ambiguous, "Deletes S3 objects or buckets, or syncs with deletion. Run it with `--dryrun` first.");
    CLOUD_DELETE = ("infra.cloud_delete", Catastrophic, "Deletes or terminates cloud resources and their data. Snapshot or back it up first and let a human delete it.");
    CLOUD_MUTATE = ("infra.cloud_change", Ambiguous, "Stops, detaches or modifies cloud resources.");
    PLATFORM_DESTROY = ("infra.platform_destroy", Catastrophic, "Destroys a deployed application, stack or cluster. Preview it first (`pulumi preview --diff`, `cdk diff`) and let a human destroy it.");
}

fn first_ops<'a>(args: &'a [Word<'_>]) -> Vec<&'a str> {
    // Skip options that take a value for the common CLIs.
    let mut out = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if t == "--" {
            break;
        }
        if matches!(
            t,
            "-n" | "--namespace"
                | "--context"
                | "--kubeconfig"
                | "-o"
                | "--output"
                | "--profile"
                | "--region"
                | "--project"
                | "-l"
                | "--selector"
                | "-f"
                | "--filename"
                | "-c"
                | "--container"
                | "--chdir"
                | "--subscription"
                | "-g"
                | "--resource-group"
                | "-p"
                | "--file"
                | "--env-file"
                | "--stack"
                | "-s"
                | "--cluster"
                | "--zone"
                | "--log-level"
                | "-H"
                | "--host"
        ) {
            k += 2;
            continue;
        }
        if t.starts_with('-') {
            k += 1;
            continue;
        }
        out.push(t);
        k += 1;
    }
    out
}

fn exec_after_dashdash(cx: &mut Cx<'_>, args: &[Word<'_>], inv: &Inv<'_>, skip_ctr: bool) {
    if let Some(p) = args.iter().position(|a| a.as_str() == "--") {
        let sub = &args[p + 1..];
        if !sub.is_empty() {
            let inner = Inv { depth: inv.depth + 1, stdin: super::Stdin::Tty, ..inv.clone() };
            unwrap::eval_argv(cx, sub, &inner);
        }
    } else if skip_ctr {
        // docker exec [opts] CONTAINER CMD…
        let mut k = 0;
        while k < args.len() {
            let t = args[k].as_str();
            if matches!(t, "-u" | "--user" | "-w" | "--workdir" | "-e" | "--env" | "--env-file") {
                k += 2;
                continue;
            }
            if t.starts_with('-') {
                k += 1;
                continue;
            }
            break;
        }
        let sub = args.get(k + 1..).unwrap_or(&[]);
        if !sub.is_empty() {
            let inner = Inv { depth: inv.depth + 1, stdin: super::Stdin::Tty, ..inv.clone() };
            unwrap::eval_argv(cx, sub, &inner);
        }
    }
}

const TERRAFORM: &[&str] = &["terraform", "tofu", "terragrunt"];
const KUBECTL: &[&str] = &["kubectl", "k", "oc"];
const DOCKER: &[&str] = &["docker", "podman", "nerdctl", "docker-compose"];
const GSUTIL: &[&str] = &["gsutil", "gsutil.py", "s3cmd"];
const PLATFORMS: &[&str] = &["pulumi", "cdk", "serverless", "sls", "eksctl", "kind", "minikube"];
const HOSTS: &[&str] = &["fly", "flyctl", "heroku", "vercel", "netlify", "firebase", "supabase", "wrangler"];

/// Every CLI's verdicts, over its operands as [`first_ops`] reads them (first arm wins).
/// `docker-compose` reads as `docker compose`; `terragrunt run-all VERB` as `terragrunt VERB`.
const ARMS: &[Arm] = &[
    Arm { on: TERRAFORM, path: &["destroy"], when: always, rule: &TF_DESTROY },
    Arm {
        on: TERRAFORM,
        path: &["apply"],
        when: |a, _| has_long(a, "-destroy") || has_long(a, "--destroy"),
        rule: &TF_DESTROY,
    },
    Arm { on: TERRAFORM, path: &["apply"], when: always, rule: &TF_APPLY },
    Arm { on: TERRAFORM, path: &["state", "rm|mv|push|replace-provider"], when: always, rule: &TF_STATE },
    Arm { on: TERRAFORM, path: &["workspace", "delete"], when: always, rule: &TF_STATE },
    Arm { on: TERRAFORM, path: &["import|taint|force-unlock"], when: always, rule: &TF_STATE },
    Arm { on: KUBECTL, path: &["delete"], when: kube_delete_broad, rule: &KUBE_DELETE_BROAD },
    Arm { on: KUBECTL, path: &["delete"], when: always, rule: &KUBE_DELETE },
    Arm { on: KUBECTL, path: &["drain|cordon|taint"], when: always, rule: &KUBE_DRAIN },
    Arm {
        on: KUBECTL,
        path: &["scale"],
        when: |a, _| {
            any_of(a, &["--replicas=0"]) || a.windows(2).any(|w| w[0].as_str() == "--replicas" && w[1].as_str() == "0")
        },
        rule: &KUBE_SCALE_ZERO,
    },
    Arm { on: KUBECTL, path: &["replace"], when: |a, _| has_long(a, "--force"), rule: &KUBE_DELETE },
    Arm { on: &["helm"], path: &["uninstall|delete|del|un"], when: always, rule: &HELM_UNINSTALL },
    Arm { on: DOCKER, path: &["volume", "rm|remove|prune"], when: always, rule: &DOCKER_VOLUME_RM },
    Arm { on: DOCKER, path: &["system", "prune"], when: |a, _| has_long(a, "--volumes"), rule: &DOCKER_PRUNE_ALL },
    Arm {
        on: DOCKER,
        path: &["system|container|image|network|builder|buildx", "prune"],
        when: always,
        rule: &DOCKER_PRUNE,
    },
    // `docker rm -f $(docker ps -aq)` removes every container: a prune.
    Arm { on: DOCKER, path: &["rm"], when: |a, _| rm_force(a) && substituted(a), rule: &DOCKER_PRUNE },
    Arm { on: DOCKER, path: &["rm"], when: |a, _| rm_force(a), rule: &DOCKER_RM_FORCE },
    Arm { on: DOCKER, path: &["container", "rm"], when: |a, _| rm_force(a) && substituted(a), rule: &DOCKER_PRUNE },
    Arm { on: DOCKER, path: &["container", "rm"], when: |a, _| rm_force(a), rule: &DOCKER_RM_FORCE },
    Arm {
        on: DOCKER,
        path: &["compose", "down|rm"],
        when: |a, _| flag(a, 'v', "--volumes"),
        rule: &COMPOSE_DOWN_VOLUMES,
    },
    Arm { on: &["aws"], path: &["s3", "rm"], when: |a, _| has_long(a, "--recursive"), rule: &S3_RM_RECURSIVE },
    Arm { on: &["aws"], path: &["s3", "rb"], when: |a, _| has_long(a, "--force"), rule: &S3_RB_FORCE },
    Arm { on: &["aws"], path: &["s3", "rm|rb|mv"], when: always, rule: &S3_DELETE },
    Arm { on: &["aws"], path: &["s3", "sync"], when: |a, _| has_long(a, "--delete"), rule: &S3_DELETE },
    Arm { on: &["aws"], path: &[], when: |_, o| aws_deletes(o), rule: &CLOUD_DELETE },
    Arm { on: &["aws"], path: &[], when: |_, o| aws_mutates(o), rule: &CLOUD_MUTATE },
    Arm {
        on: &["gcloud", "az", "doctl"],
        path: &[],
        when: |_, o| o.iter().any(|o| matches!(*o, "delete" | "destroy" | "purge")),
        rule: &CLOUD_DELETE,
    },
    Arm {
        on: &["gcloud", "az", "doctl"],
        path: &[],
        when: |_, o| o.iter().any(|o| matches!(*o, "stop" | "deallocate" | "reset")),
        rule: &CLOUD_MUTATE,
    },
    Arm {
        on: GSUTIL,
        path: &["rm|rb|del|rmdir"],
        when: |a, _| flag(a, 'r', "--recursive") || flag(a, 'f', "--force"),
        rule: &S3_RM_RECURSIVE,
    },
    Arm { on: GSUTIL, path: &["rm|rb|del|rmdir"], when: always, rule: &S3_DELETE },
    Arm { on: &["rclone"], path: &["purge"], when: always, rule: &S3_RM_RECURSIVE },
    Arm { on: &["rclone"], path: &["delete|rmdirs|deletefile|sync"], when: always, rule: &S3_DELETE },
    Arm { on: PLATFORMS, path: &["destroy|remove|delete"], when: always, rule: &PLATFORM_DESTROY },
    Arm { on: &["pulumi"], path: &["stack", "rm"], when: always, rule: &PLATFORM_DESTROY },
    Arm { on: HOSTS, path: &[], when: |_, o| o.iter().any(|o| host_destroys(o)), rule: &PLATFORM_DESTROY },
];

static INDEX: LazyLock<ArmIndex> = LazyLock::new(|| index_arms(ARMS));

/// Kinds whose deletion takes data or the cluster's shape with it.
const KUBE_BROAD_KINDS: &[&str] = &[
    "namespace",
    "namespaces",
    "ns",
    "pv",
    "pvc",
    "persistentvolume",
    "persistentvolumes",
    "persistentvolumeclaim",
    "persistentvolumeclaims",
    "node",
    "nodes",
    "no",
    "crd",
    "crds",
    "customresourcedefinition",
    "customresourcedefinitions",
    "all",
    "statefulset",
    "statefulsets",
    "sts",
    "clusterrole",
    "clusterrolebinding",
];

/// `kubectl delete --all|-A|namespace/…|pv …`.
fn kube_delete_broad(args: &[Word<'_>], ops: &[&str]) -> bool {
    has_long(args, "--all")
        || has_long(args, "--all-namespaces")
        || has_short(args, 'A')
        || ops[1..].iter().any(|o| {
            let kind = o.split('/').next().unwrap_or(o).to_ascii_lowercase();
            KUBE_BROAD_KINDS.contains(&kind.as_str())
        })
}

fn rm_force(args: &[Word<'_>]) -> bool {
    flag(args, 'f', "--force")
}

fn substituted(args: &[Word<'_>]) -> bool {
    args.iter().any(|a| a.subst.is_some())
}

/// `aws SERVICE delete-…|terminate-…|…` (KMS: `disable-…` too).
fn aws_deletes(ops: &[&str]) -> bool {
    let (svc, verb) = (ops.first().copied().unwrap_or(""), ops.get(1).copied().unwrap_or(""));
    ["delete-", "terminate-", "deregister-", "purge-", "remove-", "schedule-key-deletion"]
        .iter()
        .any(|p| verb.starts_with(p))
        || matches!(verb, "delete" | "rb")
        || (verb.starts_with("disable-") && svc == "kms")
}

/// `aws SERVICE stop-…|detach-…|modify-…|…`.
fn aws_mutates(ops: &[&str]) -> bool {
    let verb = ops.get(1).copied().unwrap_or("");
    ["stop-", "detach-", "revoke-", "modify-", "put-bucket-policy", "reboot-"].iter().any(|p| verb.starts_with(p))
}

/// A hosting CLI's destroy or delete (`apps:destroy`, `pg:reset`, `sites:delete`).
fn host_destroys(op: &str) -> bool {
    matches!(
        op,
        "destroy" | "apps:destroy" | "remove" | "rm" | "sites:delete" | "delete" | "projects:delete" | "pg:reset"
    ) || op.ends_with(":destroy")
        || op.ends_with(":delete")
}

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let mut ops = first_ops(args);
    if name == "docker-compose" {
        ops.insert(0, "compose");
    } else if TERRAFORM.contains(&name) && ops.first() == Some(&"run-all") {
        ops.remove(0);
    }
    // `kubectl exec … -- CMD`, `docker exec CONTAINER CMD`: the inner command is classified.
    if ops.first() == Some(&"exec") && (KUBECTL.contains(&name) || DOCKER.contains(&name)) {
        let docker = DOCKER.contains(&name);
        let p = if docker { args.iter().position(|a| a.as_str() == "exec").map_or(0, |p| p + 1) } else { 0 };
        return exec_after_dashdash(cx, &args[p..], inv, docker);
    }
    if let Some(r) = first_arm(&INDEX, name, args, &ops) {
        cx.hit(r, argv[0].span.start..argv[argv.len() - 1].span.end);
    }
}
