//! `webcare eval` and `webcare train`: the stages measured on labeled posts, and the models trained and written.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use webcare::pipeline::Pipeline;

use webcare::train::files::{holds_labeled_items, same_file};

use crate::setup::load;

pub(crate) fn evaluate(
    config_path: &Path,
    file: &Path,
    json: bool,
    predictions: Option<&Path>,
    topical: bool,
) -> Result<()> {
    let mut config = load(config_path)?;
    // Nothing is stored: the daemon's key is not needed (nor created).
    config.pipeline.pseudonym_key = webcare::config::KeySource::Ephemeral;
    if topical {
        config
            .pipeline
            .topical_sources
            .insert(webcare::eval::SOURCE.to_string());
    }
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    if let Some(path) = predictions {
        if same_file(path, file) {
            bail!(
                "{}: this is the labeled file; write the predictions to another",
                path.display()
            );
        }
        if holds_labeled_items(path) {
            bail!(
                "{}: holds labeled items, not predictions; write the predictions to another file",
                path.display()
            );
        }
        // Over a model or a rule file, the daemon would not start again.
        let pipeline_dirs = [
            &config.pipeline.topics_dir,
            &config.pipeline.aspects_dir,
            &config.pipeline.complaint_dir,
        ];
        let parent = webcare::files::parent_dir(path);
        if let Some(dir) = pipeline_dirs.iter().find(|d| same_file(d, parent)) {
            bail!(
                "{}: is in {}, which holds the analysis's word lists and models; write the predictions elsewhere",
                path.display(),
                dir.display()
            );
        }
    }
    // Kept until every line has read, then written where asked as it is (a file, a
    // pipe, a device such as /dev/stdout): a run that fails leaves an earlier
    // predictions file as it was.
    let mut written: Option<Vec<u8>> = predictions.map(|_| Vec::new());
    let sink = written.as_mut().map(|w| w as &mut dyn Write);
    let report = webcare::eval::evaluate(std::io::BufReader::new(input), &pipeline, sink)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    // Figures that quietly leave lines out would be figures of another file.
    if !report.errors.is_empty() {
        for (line, error) in &report.errors {
            errln!("{}:{line}: {error}", file.display());
        }
        bail!(
            "{}: {} of its labeled lines could not be read; fix them to get figures",
            file.display(),
            report.errors.len()
        );
    }
    if report.items == 0 {
        bail!("{}: no labeled items to measure on", file.display());
    }
    if let (Some(path), Some(lines)) = (predictions, written) {
        std::fs::write(path, lines).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let _ = write!(std::io::stdout(), "{}", webcare::eval::render(&report));
    }
    Ok(())
}

/// `webcare train`: the complaint, aspect and relevance models, each cross-validated
/// before it is written. `outs` overrides where (complaint, aspects, relevance) are
/// written; `settings` are in the same order.
pub(crate) fn train(
    config_path: &Path,
    files: &[PathBuf],
    outs: [Option<PathBuf>; 3],
    folds: usize,
    dry_run: bool,
    settings: [webcare::pipeline::model::Training; 3],
) -> Result<()> {
    let config = load(config_path)?;
    check_training(folds, &settings)?;
    let [settings, aspect_settings, relevance_settings] = settings;
    let dir = &config.pipeline.complaint_dir;
    let [out, aspects_out, relevance_out] = outs;
    let mut targets = [
        out.unwrap_or_else(|| dir.join(webcare::pipeline::complaint::MODEL_FILE)),
        aspects_out.unwrap_or_else(|| {
            config
                .pipeline
                .aspects_dir
                .join(webcare::pipeline::aspect_model::MODEL_FILE)
        }),
        relevance_out.unwrap_or_else(|| {
            config
                .pipeline
                .topics_dir
                .join(webcare::pipeline::relevance::MODEL_FILE)
        }),
    ];
    // Before minutes of training: each model can be written where it goes, and none
    // over labeled data or over another.
    webcare::train::files::check_targets(&mut targets, files, !dry_run)?;
    // The word lists alone: the models being replaced must not judge their successors,
    // nor stop them from being written when they are damaged.
    let cues = webcare::pipeline::complaint::ComplaintRules::load_cues(dir)?;
    let lists = webcare::pipeline::aspects::Aspects::load_lists(&config.pipeline.aspects_dir)?;
    let topics = webcare::pipeline::relevance::Topics::load_rules(&config.pipeline.topics_dir)?;
    let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
    let examples = webcare::train::read_examples(files, |text| privacy.as_read(text))?;
    // More folds than posts leaves folds empty, and the figures say "1000-fold".
    if folds > examples.len() {
        bail!(
            "--folds {folds}: more folds than the {} labeled posts; at most {} (one post a fold)",
            examples.len(),
            examples.len()
        );
    }
    let (model, mut report) = webcare::train::train(&examples, &cues, settings, folds)?;
    report.files = files.iter().map(|f| f.display().to_string()).collect();
    let fold = |f: &webcare::eval::Scores| {
        format!(
            "precision {:.1}% recall {:.1}% F1 {:.3}",
            f.precision * 100.0,
            f.recall * 100.0,
            f.f1
        )
    };
    outln!(
        "complaint model: {} relevant posts, {} complaints; {} weighted features",
        report.relevant,
        report.complaints,
        report.features
    );
    outln!(
        "  {}-fold cross-validation, model alone: {}",
        report.folds,
        fold(&report.model_out_of_fold)
    );
    outln!(
        "  {}-fold cross-validation, mixed with the cue lists: {} (the lists may have been built on these posts)",
        report.folds,
        fold(&report.mixed_out_of_fold)
    );
    let (aspect_model, aspect_report) =
        webcare::train::train_aspects(&examples, &lists, aspect_settings, folds);
    outln!(
        "aspect model: {} relevant posts; {} weighted features",
        aspect_report.relevant,
        aspect_report.features
    );
    outln!(
        "  word lists alone, micro: {} (the lists may have been built on these posts)",
        fold(&aspect_report.lists)
    );
    outln!(
        "  {}-fold cross-validation, model with the lists' findings, micro: {}",
        aspect_report.folds,
        fold(&aspect_report.model_out_of_fold)
    );
    let (relevance_model, relevance_report) =
        webcare::train::train_relevance(&examples, &topics, relevance_settings, folds)?;
    outln!(
        "relevance model: {} labeled items, {} relevant; {} weighted features",
        relevance_report.items,
        relevance_report.relevant,
        relevance_report.features
    );
    outln!(
        "  topic rules alone: {} (the rules may have been built on these posts)",
        fold(&relevance_report.rules)
    );
    outln!(
        "  {}-fold cross-validation, the rules weighed by the model: {}",
        relevance_report.folds,
        fold(&relevance_report.model_out_of_fold)
    );
    for warning in webcare::train::warnings(&examples, &aspect_report, &relevance_report) {
        errln!("warning: {warning}");
    }
    if dry_run {
        return Ok(());
    }
    let texts = [
        model.to_file_text(&webcare::train::header(&report, settings)),
        aspect_model.to_file_text(&webcare::train::aspect_header(
            &aspect_report,
            &report.files,
            aspect_settings,
        )),
        relevance_model.to_file_text(&webcare::train::relevance_header(
            &relevance_report,
            &report.files,
            relevance_settings,
        )),
    ];
    // A model the daemon would refuse to load is not written over one it loads.
    let readable = [
        webcare::pipeline::model::WordModel::parse(&texts[0]).err(),
        webcare::pipeline::aspect_model::AspectModel::parse(&texts[1]).err(),
        webcare::pipeline::model::WordModel::parse(&texts[2]).err(),
    ];
    for (target, error) in targets.iter().zip(readable) {
        if let Some((line, message)) = error {
            bail!(
                "{}: the trained model would not load (its line {line}: {message}); nothing was written",
                target.display()
            );
        }
    }
    for written in webcare::train::files::write_all_or_none(&targets, &texts)? {
        match written.previous {
            Some(previous) => outln!(
                "wrote {} (the one it replaced is {})",
                written.path.display(),
                previous.display()
            ),
            None => outln!("wrote {}", written.path.display()),
        }
    }
    Ok(())
}

/// Settings that cannot train a model are refused before any work, naming the flag.
fn check_training(folds: usize, settings: &[webcare::pipeline::model::Training; 3]) -> Result<()> {
    if folds < 2 {
        bail!("--folds {folds}: cross-validation needs at least 2 folds");
    }
    for s in settings {
        if !(s.c.is_finite() && s.c > 0.0) {
            bail!("--c {}: must be a positive number (default 16)", s.c);
        }
        if s.steps == 0 {
            bail!("--steps 0: at least one step is needed to learn anything");
        }
        if s.min_count == 0 {
            bail!("--min-count 0: a word must occur in at least one post");
        }
    }
    Ok(())
}
