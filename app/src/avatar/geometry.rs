//! The crop editor's geometry, free of the DOM so it can be tested.
//!
//! The picture (upright, `w` × `h` pixels: browsers and the server both
//! apply the EXIF orientation) is turned by `quarter_turns` × 90° clockwise
//! and shown under a circular frame. The frame sees a square of the turned
//! picture, `side` pixels wide, centred at `(cx, cy)` in turned coordinates.
//! Zoom 1 means the turned picture's shorter side fills the frame; the
//! square can never leave the picture.

/// The server refuses crops smaller than this (pixels of the original).
pub const MIN_CROP: f64 = vocab::limits::AVATAR_MIN_SIDE as f64;
/// Zooming in further than this shows nothing useful.
pub const MAX_ZOOM: f64 = 10.0;

/// A crop as the server takes it: a square in upright-original pixels, then
/// turned clockwise by `rotation` degrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub rotation: u16,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropView {
    pub w: f64,
    pub h: f64,
    pub quarter_turns: u8,
    pub zoom: f64,
    pub cx: f64,
    pub cy: f64,
}

impl CropView {
    /// Whole picture, centred, zoom 1, not turned.
    pub fn new(w: u32, h: u32) -> Self {
        let (w, h) = (f64::from(w.max(1)), f64::from(h.max(1)));
        CropView {
            w,
            h,
            quarter_turns: 0,
            zoom: 1.0,
            cx: w / 2.0,
            cy: h / 2.0,
        }
    }

    /// Size of the turned picture.
    pub fn turned(&self) -> (f64, f64) {
        if self.quarter_turns % 2 == 1 {
            (self.h, self.w)
        } else {
            (self.w, self.h)
        }
    }

    /// The largest zoom that keeps the crop at least `MIN_CROP` pixels.
    pub fn max_zoom(&self) -> f64 {
        (self.w.min(self.h) / MIN_CROP).clamp(1.0, MAX_ZOOM)
    }

    /// Side of the visible square, in picture pixels.
    pub fn side(&self) -> f64 {
        self.w.min(self.h) / self.zoom
    }

    /// Keeps zoom in range and the square inside the picture.
    fn clamp(mut self) -> Self {
        self.zoom = if self.zoom.is_finite() {
            self.zoom.clamp(1.0, self.max_zoom())
        } else {
            1.0
        };
        let (tw, th) = self.turned();
        let half = self.side() / 2.0;
        self.cx = if self.cx.is_finite() {
            self.cx.clamp(half, tw - half)
        } else {
            tw / 2.0
        };
        self.cy = if self.cy.is_finite() {
            self.cy.clamp(half, th - half)
        } else {
            th / 2.0
        };
        self
    }

    /// Moves the picture by a drag of (`dx`, `dy`) screen pixels in a frame
    /// `frame` pixels wide: the picture follows the pointer.
    pub fn pan(self, dx: f64, dy: f64, frame: f64) -> Self {
        let k = self.scale(frame);
        CropView {
            cx: self.cx - dx / k,
            cy: self.cy - dy / k,
            ..self
        }
        .clamp()
    }

    /// Zooms to `zoom`, keeping the frame's centre on the same spot.
    pub fn zoom_to(self, zoom: f64) -> Self {
        CropView { zoom, ..self }.clamp()
    }

    /// Turns a quarter clockwise around the frame's centre.
    pub fn rotate(self) -> Self {
        // In turned coordinates the point (cx, cy) moves to (th - cy, cx),
        // where th is the height of the picture before this turn.
        let (_, th) = self.turned();
        CropView {
            quarter_turns: (self.quarter_turns + 1) % 4,
            cx: th - self.cy,
            cy: self.cx,
            ..self
        }
        .clamp()
    }

    /// Screen pixels per picture pixel in a frame `frame` pixels wide.
    pub fn scale(&self, frame: f64) -> f64 {
        frame / self.side()
    }

    /// CSS transform for an `<img>` at its natural size with
    /// `transform-origin: 0 0`, placed at the top left of a `frame`-wide box.
    pub fn css_transform(&self, frame: f64) -> String {
        let (ox, oy) = match self.quarter_turns % 4 {
            1 => (self.h, 0.0),
            2 => (self.w, self.h),
            3 => (0.0, self.w),
            _ => (0.0, 0.0),
        };
        format!(
            "translate({:.3}px, {:.3}px) scale({:.6}) translate({:.3}px, {:.3}px) rotate({}deg)",
            frame / 2.0,
            frame / 2.0,
            self.scale(frame),
            ox - self.cx,
            oy - self.cy,
            u16::from(self.quarter_turns % 4) * 90,
        )
    }

    /// The crop the server applies: the visible square mapped back to the
    /// upright picture, rounded to whole pixels inside it.
    pub fn crop(&self) -> Crop {
        let s = self.side();
        let (u0, v0) = (self.cx - s / 2.0, self.cy - s / 2.0);
        let (w, h) = (self.w, self.h);
        let (x, y) = match self.quarter_turns % 4 {
            1 => (v0, h - u0 - s),
            2 => (w - u0 - s, h - v0 - s),
            3 => (w - v0 - s, u0),
            _ => (u0, v0),
        };
        let size = s.round().clamp(1.0, w.min(h));
        let x = x.round().clamp(0.0, w - size);
        let y = y.round().clamp(0.0, h - size);
        Crop {
            x: x as u32,
            y: y as u32,
            size: size as u32,
            rotation: u16::from(self.quarter_turns % 4) * 90,
        }
    }

    /// The view that shows `crop` of a `w` × `h` picture (reopening the
    /// editor on the last crop). The inverse of [`CropView::crop`].
    pub fn from_crop(w: u32, h: u32, crop: Crop) -> Self {
        let base = CropView::new(w, h);
        let (x, y, s) = (
            f64::from(crop.x),
            f64::from(crop.y),
            f64::from(crop.size.max(1)),
        );
        let q = ((crop.rotation / 90) % 4) as u8;
        let (u0, v0) = match q {
            1 => (base.h - y - s, x),
            2 => (base.w - x - s, base.h - y - s),
            3 => (y, base.w - x - s),
            _ => (x, y),
        };
        CropView {
            quarter_turns: q,
            zoom: base.w.min(base.h) / s,
            cx: u0 + s / 2.0,
            cy: v0 + s / 2.0,
            ..base
        }
        .clamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crop(x: u32, y: u32, size: u32, rotation: u16) -> Crop {
        Crop {
            x,
            y,
            size,
            rotation,
        }
    }

    #[test]
    fn starts_centred_on_the_largest_square() {
        assert_eq!(CropView::new(400, 200).crop(), crop(100, 0, 200, 0));
        assert_eq!(CropView::new(200, 400).crop(), crop(0, 100, 200, 0));
    }

    #[test]
    fn the_square_cannot_leave_the_picture() {
        let v = CropView::new(400, 200).pan(10_000.0, -10_000.0, 200.0);
        // Dragging right shows the left edge; dragging up shows the bottom.
        assert_eq!(v.crop(), crop(0, 0, 200, 0));
        let v = CropView::new(400, 200).pan(-10_000.0, 0.0, 200.0);
        assert_eq!(v.crop(), crop(200, 0, 200, 0));
        let v = CropView::new(400, 200).zoom_to(0.2);
        assert_eq!(v.zoom, 1.0);
        let v = CropView::new(400, 200).zoom_to(f64::NAN);
        assert_eq!(v.zoom, 1.0);
    }

    #[test]
    fn zoom_stops_at_the_smallest_crop_the_server_takes() {
        let v = CropView::new(100, 100).zoom_to(50.0);
        assert_eq!(v.crop().size, 32);
        let v = CropView::new(4000, 3000).zoom_to(50.0);
        assert_eq!(v.zoom, MAX_ZOOM);
        assert_eq!(v.crop().size, 300);
    }

    #[test]
    fn a_corner_maps_back_through_each_rotation() {
        // 400 × 200 picture; zoom 2 gives a 100 px square, panned to the
        // turned picture's top-left corner.
        let mut v = CropView::new(400, 200).zoom_to(2.0);
        let expected = [
            crop(0, 0, 100, 0),       // top-left of the upright picture
            crop(0, 100, 100, 90),    // turned 90°: its top-left was bottom-left
            crop(300, 100, 100, 180), // 180°: bottom-right
            crop(300, 0, 100, 270),   // 270°: top-right
        ];
        for (turns, want) in expected.into_iter().enumerate() {
            let corner = v.pan(100_000.0, 100_000.0, 100.0);
            assert_eq!(corner.crop(), want, "after {turns} quarter turns");
            v = v.rotate();
        }
        assert_eq!(v.quarter_turns, 0);
    }

    #[test]
    fn rotating_keeps_the_same_spot_under_the_frame() {
        let v = CropView::new(400, 200).zoom_to(4.0).pan(120.0, 0.0, 100.0);
        let before = v.crop();
        for _ in 0..4 {
            let turned = v.rotate();
            let after = turned.crop();
            assert_eq!(
                (after.x, after.y, after.size),
                (before.x, before.y, before.size)
            );
        }
    }

    #[test]
    fn reopening_restores_the_view_for_every_rotation() {
        for rotation in [0, 90, 180, 270] {
            let c = crop(37, 21, 150, rotation);
            let v = CropView::from_crop(400, 300, c);
            assert_eq!(v.crop(), c, "rotation {rotation}");
        }
    }

    #[test]
    fn rounding_stays_inside_odd_sizes() {
        let v = CropView::new(333, 101).zoom_to(3.0).pan(-1e9, -1e9, 97.0);
        let c = v.crop();
        assert!(c.x + c.size <= 333 && c.y + c.size <= 101, "{c:?}");
        assert_eq!(c.size, 34);
    }

    #[test]
    fn css_transform_puts_the_centre_in_the_frame_middle() {
        let v = CropView::new(400, 200);
        assert_eq!(
            v.css_transform(200.0),
            "translate(100.000px, 100.000px) scale(1.000000) translate(-200.000px, -100.000px) rotate(0deg)"
        );
        let t = v.rotate().css_transform(200.0);
        assert!(
            t.ends_with("translate(100.000px, -200.000px) rotate(90deg)"),
            "{t}"
        );
    }
}
