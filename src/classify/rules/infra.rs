//! Infrastructure: terraform, kubernetes, helm, docker, cloud CLIs.

use super::super::cx::Cx;
use super::super::ir::Word;
use super::super::unwrap;
use super::{Inv, flag, has_long, has_short};

rules! {
    TF_DESTROY = ("infra.terraform_destroy", Catastrophic, "Destroys all infrastructure managed by this Terraform/OpenTofu configuration. Run `terraform plan -destroy` first and let a human apply it.");
    TF_APPLY = ("infra.terraform_apply", Ambiguous, "Applies infrastructure changes to real resources. Run `terraform plan` first.");
    TF_STATE = ("infra.terraform_state", Ambiguous, "Edits Terraform state or workspaces directly; Terraform may then lose track of real resources. Back up the state first.");
    KUBE_DELETE_BROAD = ("infra.kubectl_delete_broad", Catastrophic, "Deletes Kubernetes namespaces, volumes, nodes or everything of a kind, with their data. Run it with `--dry-run=client` first.");
    KUBE_DELETE = ("infra.kubectl_delete", Ambiguous, "Deletes Kubernetes resources. Run it with `--dry-run=client` first.");
    KUBE_DRAIN = ("infra.kubectl_drain", Ambiguous, "Drains or cordons a node, evicting its workloads.");
    KUBE_SCALE_ZERO = ("infra.kubectl_scale_zero", Ambiguous, "Scales a workload down to zero replicas, taking it offline.");
    HELM_UNINSTALL = ("infra.helm_uninstall", Catastrophic, "Uninstalls a Helm release and deletes its resources. Run it with `--dry-run` first.");
    DOCKER_VOLUME_RM = ("infra.docker_volume_rm", Catastrophic, "Deletes Docker volumes and the data stored in them. Back the volume up first.");
    DOCKER_PRUNE_ALL = ("infra.docker_prune_all", Catastrophic, "Prunes all unused Docker data including volumes and their data. Prune without `--volumes`.");
    DOCKER_PRUNE = ("infra.docker_prune", Ambiguous, "Prunes unused Docker containers, networks and images.");
    DOCKER_RM_FORCE = ("infra.docker_rm_force", Ambiguous, "Force-removes running containers, killing their processes. Stop them first.");
    COMPOSE_DOWN_VOLUMES = ("infra.compose_down_volumes", Catastrophic, "Stops the compose project and deletes its volumes with their data. Use `docker compose down` without `-v`.");
    S3_RM_RECURSIVE = ("infra.s3_rm_recursive", Catastrophic, "Deletes every object under an S3 prefix or bucket. Run it with `--dryrun` first.");
    S3_RB_FORCE = ("infra.s3_rb_force", Catastrophic, "Deletes an S3 bucket with all its objects.");
    S3_DELETE = ("infra.s3_delete", Ambiguous, "Deletes S3 objects or buckets, or syncs with deletion. Run it with `--dryrun` first.");
    CLOUD_DELETE = ("infra.cloud_delete", Catastrophic, "Deletes or terminates cloud resources and their data.");
    CLOUD_MUTATE = ("infra.cloud_change", Ambiguous, "Stops, detaches or modifies cloud resources.");
    PLATFORM_DESTROY = ("infra.platform_destroy", Catastrophic, "Destroys a deployed application, stack or cluster.");
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

// One arm per CLI reads better than guards folded into the match.
#[allow(clippy::collapsible_match)]
pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    let ops = first_ops(args);
    let op = |k: usize| ops.get(k).copied().unwrap_or("");
    match name {
        "terraform" | "tofu" | "terragrunt" => {
            let verb = if op(0) == "run-all" { op(1) } else { op(0) };
            match verb {
                "destroy" => cx.hit(&TF_DESTROY, whole),
                "apply" => {
                    if has_long(args, "-destroy") || has_long(args, "--destroy") {
                        cx.hit(&TF_DESTROY, whole)
                    } else {
                        cx.hit(&TF_APPLY, whole)
                    }
                }
                "state" if matches!(op(1), "rm" | "mv" | "push" | "replace-provider") => cx.hit(&TF_STATE, whole),
                "workspace" if op(1) == "delete" => cx.hit(&TF_STATE, whole),
                "import" | "taint" | "force-unlock" => cx.hit(&TF_STATE, whole),
                _ => {}
            }
        }
        "kubectl" | "k" | "oc" => match op(0) {
            "delete" => {
                let broad = has_long(args, "--all")
                    || has_long(args, "--all-namespaces")
                    || has_short(args, 'A')
                    || ops[1..].iter().any(|o| {
                        let kind = o.split('/').next().unwrap_or(o).to_ascii_lowercase();
                        matches!(
                            kind.as_str(),
                            "namespace"
                                | "namespaces"
                                | "ns"
                                | "pv"
                                | "pvc"
                                | "persistentvolume"
                                | "persistentvolumes"
                                | "persistentvolumeclaim"
                                | "persistentvolumeclaims"
                                | "node"
                                | "nodes"
                                | "no"
                                | "crd"
                                | "crds"
                                | "customresourcedefinition"
                                | "customresourcedefinitions"
                                | "all"
                                | "statefulset"
                                | "statefulsets"
                                | "sts"
                                | "clusterrole"
                                | "clusterrolebinding"
                        )
                    });
                cx.hit(if broad { &KUBE_DELETE_BROAD } else { &KUBE_DELETE }, whole)
            }
            "drain" | "cordon" | "taint" => cx.hit(&KUBE_DRAIN, whole),
            "scale"
                if (args.iter().any(|a| a.as_str() == "--replicas=0")
                    || args.windows(2).any(|w| w[0].as_str() == "--replicas" && w[1].as_str() == "0")) =>
            {
                cx.hit(&KUBE_SCALE_ZERO, whole)
            }
            "replace" if has_long(args, "--force") => cx.hit(&KUBE_DELETE, whole),
            "exec" => exec_after_dashdash(cx, args, inv, false),
            _ => {}
        },
        "helm" => {
            if matches!(op(0), "uninstall" | "delete" | "del" | "un") {
                cx.hit(&HELM_UNINSTALL, whole)
            }
        }
        "docker" | "podman" | "nerdctl" | "docker-compose" => {
            let (o0, o1) = if name == "docker-compose" { ("compose", op(0)) } else { (op(0), op(1)) };
            match (o0, o1) {
                ("volume", "rm" | "remove" | "prune") => cx.hit(&DOCKER_VOLUME_RM, whole),
                ("system", "prune") => {
                    if has_long(args, "--volumes") {
                        cx.hit(&DOCKER_PRUNE_ALL, whole)
                    } else {
                        cx.hit(&DOCKER_PRUNE, whole)
                    }
                }
                ("container" | "image" | "network" | "builder" | "buildx", "prune") => cx.hit(&DOCKER_PRUNE, whole),
                ("rm" | "container", _) if (o0 == "rm" || o1 == "rm") && flag(args, 'f', "--force") => {
                    if args.iter().any(|a| a.subst.is_some()) {
                        cx.hit(&DOCKER_PRUNE, whole)
                    } else {
                        cx.hit(&DOCKER_RM_FORCE, whole)
                    }
                }
                ("compose", "down" | "rm") if flag(args, 'v', "--volumes") => cx.hit(&COMPOSE_DOWN_VOLUMES, whole),
                ("exec", _) => {
                    let p = args.iter().position(|a| a.as_str() == "exec").map_or(0, |p| p + 1);
                    exec_after_dashdash(cx, &args[p..], inv, true)
                }
                _ => {}
            }
        }
        "aws" => {
            let (svc, verb) = (op(0), op(1));
            match (svc, verb) {
                ("s3", "rm") => {
                    cx.hit(if has_long(args, "--recursive") { &S3_RM_RECURSIVE } else { &S3_DELETE }, whole)
                }
                ("s3", "rb") => cx.hit(if has_long(args, "--force") { &S3_RB_FORCE } else { &S3_DELETE }, whole),
                ("s3", "sync" | "mv") if has_long(args, "--delete") || verb == "mv" => cx.hit(&S3_DELETE, whole),
                _ => {
                    if verb.starts_with("delete-")
                        || verb.starts_with("terminate-")
                        || verb.starts_with("deregister-")
                        || verb.starts_with("purge-")
                        || verb == "delete"
                        || verb.starts_with("remove-")
                        || verb == "rb"
                        || verb.starts_with("disable-") && svc == "kms"
                        || verb.starts_with("schedule-key-deletion")
                    {
                        cx.hit(&CLOUD_DELETE, whole)
                    } else if verb.starts_with("stop-")
                        || verb.starts_with("detach-")
                        || verb.starts_with("revoke-")
                        || verb.starts_with("modify-")
                        || verb.starts_with("put-bucket-policy")
                        || verb.starts_with("reboot-")
                    {
                        cx.hit(&CLOUD_MUTATE, whole)
                    }
                }
            }
        }
        "gcloud" | "az" | "doctl" => {
            if ops.iter().any(|o| matches!(*o, "delete" | "destroy" | "purge"))
                || (name == "gcloud" && ops.first() == Some(&"projects") && ops.get(1) == Some(&"delete"))
            {
                cx.hit(&CLOUD_DELETE, whole)
            } else if ops.iter().any(|o| matches!(*o, "stop" | "deallocate" | "reset")) {
                cx.hit(&CLOUD_MUTATE, whole)
            }
        }
        "gsutil" | "gsutil.py" | "s3cmd" => {
            if matches!(op(0), "rm" | "rb" | "del" | "rmdir") {
                cx.hit(
                    if flag(args, 'r', "--recursive")
                        || flag(args, 'f', "--force")
                        || has_short(args, 'm') && flag(args, 'r', "--recursive")
                    {
                        &S3_RM_RECURSIVE
                    } else {
                        &S3_DELETE
                    },
                    whole,
                )
            }
        }
        "rclone" => {
            if matches!(op(0), "purge" | "delete" | "rmdirs" | "deletefile") {
                cx.hit(if op(0) == "purge" { &S3_RM_RECURSIVE } else { &S3_DELETE }, whole)
            } else if op(0) == "sync" {
                cx.hit(&S3_DELETE, whole)
            }
        }
        "pulumi" | "cdk" | "serverless" | "sls" | "eksctl" | "kind" | "minikube" => {
            if matches!(op(0), "destroy" | "remove" | "delete")
                || (name == "pulumi" && op(0) == "stack" && op(1) == "rm")
            {
                cx.hit(&PLATFORM_DESTROY, whole)
            }
        }
        "fly" | "flyctl" | "heroku" | "vercel" | "netlify" | "firebase" | "supabase" | "wrangler" => {
            let v = ops.iter().any(|o| {
                matches!(
                    *o,
                    "destroy"
                        | "apps:destroy"
                        | "remove"
                        | "rm"
                        | "sites:delete"
                        | "delete"
                        | "projects:delete"
                        | "pg:reset"
                        | "addons:destroy"
                ) || o.ends_with(":destroy")
                    || o.ends_with(":delete")
            });
            if v {
                cx.hit(&PLATFORM_DESTROY, whole)
            }
        }
        _ => {}
    }
}
