// SPDX-License-Identifier: MIT OR Apache-2.0

//! The `zones` string: which parts of the picture `motionalarm` watches or ignores.
//!
//! Knows nothing of GStreamer, so the launcher can validate configuration with [`parse_zones`].
//!
//! ## Syntax
//!
//! ```text
//! zones  := ""                                   (empty: the whole frame is watched)
//!         | zone { ";" zone } [";"]
//! zone   := ("watch" | "ignore") ":" shape
//! shape  := x0 "," y0 "," x1 "," y1              (rectangle: left, top, right, bottom)
//!         | "poly(" x " " y { "," x " " y } ")"   (polygon, at least 3 points)
//! ```
//!
//! Coordinates are fractions of the frame's width and height, `0.0..=1.0`, origin top left, so a
//! zone survives a resolution change. Whitespace around tokens is ignored.
//!
//! A point is watched when it lies in any `watch` zone (or when there is no `watch` zone at all)
//! and in no `ignore` zone: `ignore` wins where zones overlap.
//!
//! Example: `watch:0.1,0.1,0.9,0.9;ignore:0,0,1,0.1;watch:poly(0.2 0.2, 0.8 0.2, 0.5 0.9)`.

use std::fmt;
use std::str::FromStr;

/// Most zones a string may hold; more is certainly a configuration mistake.
pub const MAX_ZONES: usize = 64;
/// Most points a polygon may have.
pub const MAX_POLYGON_POINTS: usize = 256;

/// Whether a zone adds to or removes from the watched area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneAction {
    Watch,
    Ignore,
}

impl ZoneAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneAction::Watch => "watch",
            ZoneAction::Ignore => "ignore",
        }
    }
}

/// A zone's outline, in normalised coordinates (`0.0..=1.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneShape {
    /// Left, top, right, bottom; `x0 < x1` and `y0 < y1`.
    Rect { x0: f64, y0: f64, x1: f64, y1: f64 },
    /// At least three points, closed implicitly.
    Polygon(Vec<(f64, f64)>),
}

impl ZoneShape {
    /// Whether the normalised point `(x, y)` lies inside (even-odd rule for polygons).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            ZoneShape::Rect { x0, y0, x1, y1 } => x >= *x0 && x <= *x1 && y >= *y0 && y <= *y1,
            ZoneShape::Polygon(points) => {
                let mut inside = false;
                let mut j = points.len() - 1;
                for (i, &(xi, yi)) in points.iter().enumerate() {
                    let (xj, yj) = points[j];
                    if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
        }
    }
}

/// One `watch` or `ignore` area.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub action: ZoneAction,
    pub shape: ZoneShape,
}

/// A parsed `zones` string. The default (empty) watches the whole frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Zones {
    zones: Vec<Zone>,
}

/// Why a `zones` string was refused. `zone` counts from 1, in the order written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZoneError {
    #[error("zone {zone}: expected 'watch:' or 'ignore:' before the shape, found '{found}'")]
    Action { zone: usize, found: String },
    #[error("zone {zone}: '{found}' is not a number")]
    Number { zone: usize, found: String },
    #[error("zone {zone}: coordinate {value} is outside 0..1")]
    OutOfRange { zone: usize, value: f64 },
    #[error("zone {zone}: a rectangle needs 4 numbers 'x0,y0,x1,y1', found {found}")]
    RectArity { zone: usize, found: usize },
    #[error("zone {zone}: the rectangle is empty (need x0 < x1 and y0 < y1)")]
    EmptyRect { zone: usize },
    #[error("zone {zone}: polygon point '{found}' is not 'x y'")]
    Point { zone: usize, found: String },
    #[error("zone {zone}: a polygon needs 3 to {max} points, found {found}", max = MAX_POLYGON_POINTS)]
    PolygonPoints { zone: usize, found: usize },
    #[error("zone {zone}: 'poly(' is not closed with ')'")]
    Unclosed { zone: usize },
    #[error("too many zones ({found}); at most {max}", max = MAX_ZONES)]
    TooMany { found: usize },
}

/// Parses a `zones` string (see the [module docs](self) for the syntax).
pub fn parse_zones(s: &str) -> Result<Zones, ZoneError> {
    s.parse()
}

fn number(zone: usize, text: &str) -> Result<f64, ZoneError> {
    let text = text.trim();
    let value: f64 = text.parse().map_err(|_| ZoneError::Number {
        zone,
        found: text.to_string(),
    })?;
    if !value.is_finite() {
        return Err(ZoneError::Number {
            zone,
            found: text.to_string(),
        });
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(ZoneError::OutOfRange { zone, value });
    }
    Ok(value)
}

fn parse_shape(zone: usize, text: &str) -> Result<ZoneShape, ZoneError> {
    if let Some(rest) = text.strip_prefix("poly") {
        let inner = rest
            .trim_start()
            .strip_prefix('(')
            .ok_or(ZoneError::Unclosed { zone })?;
        let inner = inner
            .trim_end()
            .strip_suffix(')')
            .ok_or(ZoneError::Unclosed { zone })?;
        let points = inner
            .split(',')
            .map(|p| {
                let mut it = p.split_whitespace();
                match (it.next(), it.next(), it.next()) {
                    (Some(x), Some(y), None) => Ok((number(zone, x)?, number(zone, y)?)),
                    _ => Err(ZoneError::Point {
                        zone,
                        found: p.trim().to_string(),
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(3..=MAX_POLYGON_POINTS).contains(&points.len()) {
            return Err(ZoneError::PolygonPoints {
                zone,
                found: points.len(),
            });
        }
        return Ok(ZoneShape::Polygon(points));
    }

    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != 4 {
        return Err(ZoneError::RectArity {
            zone,
            found: parts.len(),
        });
    }
    let (x0, y0, x1, y1) = (
        number(zone, parts[0])?,
        number(zone, parts[1])?,
        number(zone, parts[2])?,
        number(zone, parts[3])?,
    );
    if x0 >= x1 || y0 >= y1 {
        return Err(ZoneError::EmptyRect { zone });
    }
    Ok(ZoneShape::Rect { x0, y0, x1, y1 })
}

impl FromStr for Zones {
    type Err = ZoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut zones = Vec::new();
        let items: Vec<&str> = s
            .split(';')
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .collect();
        if items.len() > MAX_ZONES {
            return Err(ZoneError::TooMany { found: items.len() });
        }
        for (i, item) in items.into_iter().enumerate() {
            let zone = i + 1;
            let (action, shape) = item.split_once(':').ok_or_else(|| ZoneError::Action {
                zone,
                found: item.to_string(),
            })?;
            let action = match action.trim() {
                "watch" => ZoneAction::Watch,
                "ignore" => ZoneAction::Ignore,
                other => {
                    return Err(ZoneError::Action {
                        zone,
                        found: other.to_string(),
                    })
                }
            };
            let shape = parse_shape(zone, shape.trim())?;
            zones.push(Zone { action, shape });
        }
        Ok(Zones { zones })
    }
}

impl fmt::Display for Zones {
    /// The canonical form of the string, which parses back to the same zones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, z) in self.zones.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}:", z.action.as_str())?;
            match &z.shape {
                ZoneShape::Rect { x0, y0, x1, y1 } => write!(f, "{x0},{y0},{x1},{y1}")?,
                ZoneShape::Polygon(points) => {
                    f.write_str("poly(")?;
                    for (j, (x, y)) in points.iter().enumerate() {
                        if j > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{x} {y}")?;
                    }
                    f.write_str(")")?;
                }
            }
        }
        Ok(())
    }
}

impl Zones {
    /// No zones: the whole frame is watched.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter()
    }

    /// Whether the normalised point `(x, y)` is watched.
    pub fn is_watched(&self, x: f64, y: f64) -> bool {
        let any_watch = self.zones.iter().any(|z| z.action == ZoneAction::Watch);
        let mut watched = !any_watch;
        for z in &self.zones {
            if z.shape.contains(x, y) {
                match z.action {
                    ZoneAction::Ignore => return false,
                    ZoneAction::Watch => watched = true,
                }
            }
        }
        watched
    }

    /// The watch mask of a `width` x `height` grid, judged at each cell's centre: 1 = watched.
    pub fn mask(&self, width: usize, height: usize) -> Vec<u8> {
        if self.is_empty() {
            return vec![1; width * height];
        }
        let mut mask = Vec::with_capacity(width * height);
        for y in 0..height {
            let ny = (y as f64 + 0.5) / height as f64;
            for x in 0..width {
                let nx = (x as f64 + 0.5) / width as f64;
                mask.push(u8::from(self.is_watched(nx, ny)));
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_string_watches_everything() {
        for s in ["", "  ", ";", " ; ;"] {
            let z = parse_zones(s).unwrap();
            assert!(z.is_empty());
            assert!(z.is_watched(0.0, 0.0) && z.is_watched(1.0, 1.0));
        }
        assert_eq!(Zones::default().mask(3, 2), vec![1; 6]);
    }

    #[test]
    fn parses_the_documented_example() {
        let z = parse_zones(
            "watch:0.1,0.1,0.9,0.9;ignore:0,0,1,0.1;watch:poly(0.2 0.2, 0.8 0.2, 0.5 0.9)",
        )
        .unwrap();
        let v: Vec<_> = z.iter().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].action, ZoneAction::Watch);
        assert_eq!(
            v[0].shape,
            ZoneShape::Rect {
                x0: 0.1,
                y0: 0.1,
                x1: 0.9,
                y1: 0.9
            }
        );
        assert_eq!(v[1].action, ZoneAction::Ignore);
        assert_eq!(
            v[2].shape,
            ZoneShape::Polygon(vec![(0.2, 0.2), (0.8, 0.2), (0.5, 0.9)])
        );
    }

    #[test]
    fn display_round_trips() {
        let text = " watch : 0.1, 0.2 ,0.5,0.75 ; ignore:poly( 0 0,1 0 , 0.5 0.5 );";
        let z = parse_zones(text).unwrap();
        let canonical = z.to_string();
        assert_eq!(
            canonical,
            "watch:0.1,0.2,0.5,0.75;ignore:poly(0 0,1 0,0.5 0.5)"
        );
        assert_eq!(parse_zones(&canonical).unwrap(), z);
    }

    #[test]
    fn ignore_wins_and_watch_restricts() {
        let z = parse_zones("watch:0,0,0.5,1;ignore:0,0,0.25,0.25").unwrap();
        assert!(z.is_watched(0.4, 0.5));
        assert!(!z.is_watched(0.75, 0.5), "outside every watch zone");
        assert!(!z.is_watched(0.1, 0.1), "inside an ignore zone");

        let only_ignore = parse_zones("ignore:0.5,0,1,1").unwrap();
        assert!(only_ignore.is_watched(0.2, 0.5));
        assert!(!only_ignore.is_watched(0.7, 0.5));
    }

    #[test]
    fn polygon_containment() {
        let z = parse_zones("watch:poly(0.5 0, 1 1, 0 1)").unwrap();
        assert!(z.is_watched(0.5, 0.8));
        assert!(!z.is_watched(0.05, 0.1));
        assert!(!z.is_watched(0.95, 0.1));
    }

    #[test]
    fn mask_is_judged_at_cell_centres() {
        let z = parse_zones("ignore:0.5,0,1,1").unwrap();
        assert_eq!(z.mask(4, 2), vec![1, 1, 0, 0, 1, 1, 0, 0]);
        let w = parse_zones("watch:0,0.5,1,1").unwrap();
        assert_eq!(w.mask(2, 2), vec![0, 0, 1, 1]);
    }

    #[test]
    fn clear_errors() {
        use ZoneError::*;
        let cases: &[(&str, ZoneError)] = &[
            (
                "0,0,1,1",
                Action {
                    zone: 1,
                    found: "0,0,1,1".into(),
                },
            ),
            (
                "look:0,0,1,1",
                Action {
                    zone: 1,
                    found: "look".into(),
                },
            ),
            (
                "watch:0,0,1,1;ignore:0,0,x,1",
                Number {
                    zone: 2,
                    found: "x".into(),
                },
            ),
            (
                "watch:0,0,1.5,1",
                OutOfRange {
                    zone: 1,
                    value: 1.5,
                },
            ),
            (
                "watch:0,0,-0.1,1",
                OutOfRange {
                    zone: 1,
                    value: -0.1,
                },
            ),
            ("watch:0,0,1", RectArity { zone: 1, found: 3 }),
            ("watch:0.5,0,0.5,1", EmptyRect { zone: 1 }),
            ("watch:0.6,0,0.5,1", EmptyRect { zone: 1 }),
            ("watch:poly(0 0, 1 1)", PolygonPoints { zone: 1, found: 2 }),
            (
                "watch:poly(0 0, 1, 1 1)",
                Point {
                    zone: 1,
                    found: "1".into(),
                },
            ),
            ("watch:poly(0 0, 1 0, 1 1", Unclosed { zone: 1 }),
            (
                "watch:NaN,0,1,1",
                Number {
                    zone: 1,
                    found: "NaN".into(),
                },
            ),
        ];
        for (text, err) in cases {
            assert_eq!(parse_zones(text).as_ref(), Err(err), "for {text:?}");
        }
        let many = vec!["watch:0,0,1,1"; MAX_ZONES + 1].join(";");
        assert_eq!(
            parse_zones(&many),
            Err(TooMany {
                found: MAX_ZONES + 1
            })
        );
        // Messages name the zone, so a user can find the mistake.
        assert_eq!(
            parse_zones("watch:0,0,1,1;watch:0,0,2,1")
                .unwrap_err()
                .to_string(),
            "zone 2: coordinate 2 is outside 0..1"
        );
    }
}
